// Small progressive enhancements: the page works without them.
(function () {
  "use strict";

  // Forms (or their submit buttons) marked data-confirm ask first, in Rally's own dialog
  // (#confirm-dialog, in the base layout), never the browser's confirm(): data-confirm is
  // the question, data-confirm-text what will happen, data-confirm-button the action's label
  // and data-confirm-danger a destructive action. The dialog's buttons are a method="dialog"
  // form: closed with "accept", the waiting form submits. Without JavaScript it just submits.
  var pendingConfirm = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var source = event.submitter && event.submitter.hasAttribute("data-confirm") ? event.submitter : form;
    var question = source.getAttribute && source.getAttribute("data-confirm");
    var dialog = document.getElementById("confirm-dialog");
    if (!question || !dialog) return;
    if (form.rallyConfirmed) { form.rallyConfirmed = false; return; }
    event.preventDefault();
    event.stopImmediatePropagation();  // htmx waits for the answer too
    var accept = document.getElementById("confirm-dialog-accept");
    document.getElementById("confirm-dialog-title").textContent = question;
    document.getElementById("confirm-dialog-text").textContent = source.getAttribute("data-confirm-text") || "";
    accept.textContent = source.getAttribute("data-confirm-button") || "Confirm";
    accept.className = "button " + (source.hasAttribute("data-confirm-danger") ? "button--danger" : "button--primary");
    pendingConfirm = {form: form, submitter: event.submitter || null};
    dialog.rallyOpener = event.submitter || document.activeElement;
    dialog.returnValue = "";
    dialog.showModal();
    accept.focus();
  }, true);
  document.addEventListener("close", function (event) {
    if (event.target.id !== "confirm-dialog" || !pendingConfirm) return;
    var pending = pendingConfirm;
    pendingConfirm = null;
    if (event.target.returnValue !== "accept") return;
    pending.form.rallyConfirmed = true;
    pending.form.requestSubmit(pending.submitter);
  }, true);

  // Three-dots menus (WAI-ARIA menu button): arrows move, Escape closes and returns focus.
  function menuItems(list) { return Array.prototype.slice.call(list.querySelectorAll("[role=menuitem]")); }
  function closeMenu(button, focusButton) {
    var list = document.getElementById(button.getAttribute("aria-controls"));
    if (!list) return;
    list.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (focusButton) button.focus();
  }
  function openMenu(button, focusLast) {
    var list = document.getElementById(button.getAttribute("aria-controls"));
    document.querySelectorAll("[data-menu-button][aria-expanded=true]").forEach(function (other) {
      if (other !== button) closeMenu(other, false);
    });
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
    var items = menuItems(list);
    if (items.length) items[focusLast ? items.length - 1 : 0].focus();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-menu-button]");
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") closeMenu(button, true);
      else openMenu(button, false);
      return;
    }
    document.querySelectorAll("[data-menu-button][aria-expanded=true]").forEach(function (open) {
      if (!open.parentElement.contains(event.target)) closeMenu(open, false);
    });
  });
  document.addEventListener("keydown", function (event) {
    var button = event.target.closest && event.target.closest("[data-menu-button]");
    if (button && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      openMenu(button, event.key === "ArrowUp");
      return;
    }
    var list = event.target.closest && event.target.closest("[role=menu]");
    if (!list) return;
    var opener = document.querySelector("[aria-controls='" + list.id + "']");
    var items = menuItems(list);
    var index = items.indexOf(event.target);
    if (event.key === "Escape") { event.preventDefault(); closeMenu(opener, true); }
    else if (event.key === "ArrowDown") { event.preventDefault(); items[(index + 1) % items.length].focus(); }
    else if (event.key === "ArrowUp") { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    else if (event.key === "Home") { event.preventDefault(); items[0].focus(); }
    else if (event.key === "End") { event.preventDefault(); items[items.length - 1].focus(); }
    else if (event.key === "Tab") { closeMenu(opener, false); }
  });

  // Dialogs: a button with data-dialog-open="ID" opens the native <dialog> (focus returns to it).
  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog) {
        event.preventDefault();
        dialog.rallyOpener = opener;
        // An item of a menu opens its dialog in place of the menu, not over it.
        var menu = opener.closest("[role=menu]");
        var menuButton = menu && document.querySelector("[aria-controls='" + menu.id + "']");
        if (menuButton) closeMenu(menuButton, false);
        dialog.showModal();
      }
    }
    var closer = event.target.closest && event.target.closest("[data-dialog-close]");
    var openDialog = closer && closer.closest("dialog");
    if (openDialog) { event.preventDefault(); openDialog.close(); }
  });
  // Closed (Escape, Cancel): focus goes back to the opener; an item of a row menu hands it to
  // the menu's button, the menu closed.
  document.addEventListener("close", function (event) {
    var opener = event.target.rallyOpener;
    if (!opener || !opener.isConnected) return;
    event.target.rallyOpener = null;
    var list = opener.closest("[role=menu]");
    var button = list && document.querySelector("[aria-controls='" + list.id + "']");
    if (button) closeMenu(button, true); else opener.focus();
  }, true);
  // A dialog's notice (funds added, below) is about that visit only.
  document.addEventListener("close", function (event) {
    var note = event.target.querySelector && event.target.querySelector(".dialog__notice");
    if (note) note.remove();
  }, true);
  // A button with data-copy="ID" copies that field's value and says so in the live region.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () {
      var toast = document.createElement("div");
      toast.className = "toast";
      toast.textContent = "Copied the link.";
      document.getElementById("toasts").appendChild(toast);
      window.setTimeout(function () { toast.remove(); }, 4000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      field.select();
      if (document.execCommand("copy")) done();
    }
  });

  // A region that polls while work is pending (data-poll-holds) is not replaced while the
  // person is busy in it: a row menu open inside it, or any dialog open (a half-typed reason
  // would be lost). The request is cancelled; the next poll tries again. (An htmx trigger
  // filter would need eval, which the Content Security Policy does not allow.)
  document.addEventListener("htmx:beforeRequest", function (event) {
    var region = event.detail && event.detail.elt;
    if (!region || !region.hasAttribute || !region.hasAttribute("data-poll-holds")) return;
    if (region.querySelector("[aria-expanded=true]") || document.querySelector("dialog[open]")) {
      event.preventDefault();
    }
  });

  // Phone width: the main navigation folds behind a "Menu" button (without JavaScript it
  // stays a row of links that scrolls sideways).
  var navToggle = document.querySelector("[data-nav-toggle]");
  if (navToggle) {
    var nav = document.getElementById(navToggle.getAttribute("aria-controls"));
    navToggle.hidden = false;
    navToggle.addEventListener("click", function () {
      var open = navToggle.getAttribute("aria-expanded") !== "true";
      navToggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("mainnav--open", open);
      if (open) { var first = nav.querySelector("a"); if (first) first.focus(); }
    });
    nav.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && navToggle.getAttribute("aria-expanded") === "true") {
        navToggle.setAttribute("aria-expanded", "false");
        nav.classList.remove("mainnav--open");
        navToggle.focus();
      }
    });
  }

  // Funds added from a form inside a dialog that refreshes on "fundsAdded" (Review & Start):
  // the form's own confirmation goes with the refresh, so the message is said at the top of
  // that dialog, outside the part that refreshes. A dialog that keeps the form's
  // confirmation (Budgets) says it already; without a dialog it goes to the toasts.
  document.body.addEventListener("fundsAdded", function (event) {
    var message = event.detail && event.detail.message;
    if (!message) return;
    var dialog = Array.prototype.filter.call(document.querySelectorAll("dialog[open]"),
      function (open) { return open.matches(":modal"); }).pop();
    if (dialog && !dialog.querySelector("[data-hx-trigger*=fundsAdded]")) return;
    if (dialog) {
      var note = dialog.querySelector(".dialog__notice");
      if (!note) {
        note = document.createElement("p");
        note.className = "notice dialog__notice";
        note.setAttribute("role", "status");
        dialog.insertBefore(note, dialog.firstChild);
      }
      note.textContent = message;
      return;
    }
    var toast = document.createElement("div");
    toast.className = "toast toast--success";
    toast.textContent = message;
    document.getElementById("toasts").appendChild(toast);
    window.setTimeout(function () { toast.remove(); }, 8000);
  });

  // Toasts fade after a while; they stay in the live region long enough to be read.
  window.setTimeout(function () {
    document.querySelectorAll(".toast").forEach(function (toast) { toast.remove(); });
  }, 8000);
})();
