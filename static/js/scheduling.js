// Booking page: show times in the participant's own zone. On a first visit (no zone chosen
// yet) the browser's zone is selected and the times reload in it; the select still lets
// the participant pick another zone. Without JavaScript the hosts' zone is shown.
document.addEventListener("DOMContentLoaded", () => {
  const select = document.querySelector("select[data-zone-select][data-detect]");
  if (!select) return;
  let detected = "";
  try { detected = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  const known = Array.from(select.options).some((option) => option.value === detected);
  if (!known || select.value === detected) return;
  select.value = detected;
  select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
});

// Slot times follow the participant's own clock (12- or 24-hour, from the browser's locale),
// on load and in the times htmx brings when the zone changes; the server's 24-hour text
// stays when Intl is missing.
function clocksLocalise(root) {
  root.querySelectorAll("time[data-clock]").forEach((element) => {
    try {
      element.textContent = new Intl.DateTimeFormat(undefined, {
        hour: "2-digit", minute: "2-digit", timeZone: element.dataset.clock,
      }).format(new Date(element.getAttribute("datetime")));
    } catch (e) { /* keep the server's text */ }
  });
}
document.addEventListener("DOMContentLoaded", () => clocksLocalise(document));
document.addEventListener("htmx:load", (event) => clocksLocalise(event.target));
