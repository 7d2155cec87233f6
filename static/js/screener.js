// Drag and drop to reorder screener questions. The "Move up"/"Move down" buttons do the same
// without a script; this only submits the new order through the hidden reorder form.
(function () {
  "use strict";
  var dragged = null;

  function list() { return document.getElementById("screener-questions"); }

  document.addEventListener("dragstart", function (event) {
    var handle = event.target.closest && event.target.closest(".question__handle");
    var item = handle && handle.closest("[data-draggable]");
    if (!item) return;
    dragged = item;
    item.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.getAttribute("data-uid"));
    event.dataTransfer.setDragImage(item, 16, 16);
  });
  document.addEventListener("dragover", function (event) {
    var over = event.target.closest && event.target.closest("[data-draggable]");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    document.querySelectorAll(".is-drop-target").forEach(function (el) { el.classList.remove("is-drop-target"); });
    over.classList.add("is-drop-target");
  });
  document.addEventListener("drop", function (event) {
    var over = event.target.closest && event.target.closest("[data-draggable]");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
    submitOrder();
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    document.querySelectorAll(".is-drop-target").forEach(function (el) { el.classList.remove("is-drop-target"); });
    dragged = null;
  });

  function submitOrder() {
    var form = document.getElementById("screener-reorder");
    if (!form || !list()) return;
    form.querySelectorAll("input[name=order]").forEach(function (input) { input.remove(); });
    list().querySelectorAll("[data-draggable]").forEach(function (item) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "order";
      input.value = item.getAttribute("data-uid");
      form.appendChild(input);
    });
    form.requestSubmit();
  }
})();
