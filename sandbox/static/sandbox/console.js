// The console's live region refreshes every few seconds; hold it while someone is using a
// control inside it (so focus and typed values are not swapped away), or when live updates
// are switched off.
document.addEventListener("htmx:beforeRequest", function (event) {
  var live = document.getElementById("sandbox-live");
  if (!live || event.detail.elt !== live) return;
  var toggle = document.getElementById("sandbox-live-toggle");
  if ((toggle && !toggle.checked) || live.contains(document.activeElement)) {
    event.preventDefault();
  }
});
