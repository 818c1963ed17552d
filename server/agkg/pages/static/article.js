// The article view: select an underlined passage to list the facts that quote it.
(function () {
  "use strict";
  const template = document.getElementById("citing-facts");
  const panel = document.getElementById("citing");
  const list = document.getElementById("citing-list");
  if (!template || !panel || !list) return;
  const items = Array.from(template.content.querySelectorAll("li[data-index]"));

  function show(span) {
    document.querySelectorAll(".cited.selected").forEach((el) => el.classList.remove("selected"));
    span.classList.add("selected");
    list.replaceChildren();
    for (const index of span.dataset.facts.split(" ")) {
      const item = items[Number(index)];
      if (item) list.appendChild(item.cloneNode(true));
    }
    panel.hidden = false;
  }

  document.querySelectorAll(".cited").forEach((span) => {
    span.addEventListener("click", () => show(span));
    span.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        show(span);
      }
    });
  });
  const target = document.getElementById("passage");
  if (target) {
    const cited = target.closest(".cited") || target;
    if (cited.dataset && cited.dataset.facts) show(cited);
  }
})();
