// Small behaviours every page may use, declared in the markup so that pages carry no inline script
// (the Content-Security-Policy allows scripts from this site only):
//   data-confirm="Question?"  on a button: asks first, and does nothing unless confirmed;
//   data-autosubmit           on a select: submits its form when the choice changes;
//   data-print                on a button: prints the page;
//   data-strike-row           on a checkbox: strikes its table row through while ticked (pick lists);
//   data-print-on-load        on <body>: opens the print dialogue once the page has loaded.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var asking = event.target.closest("[data-confirm]");
    if (asking && !window.confirm(asking.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    if (event.target.closest("[data-print]")) window.print();
  }, true);
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
    if (event.target.matches("input[data-strike-row]")) {
      event.target.closest("tr").classList.toggle("picked", event.target.checked);
    }
  });
  if (document.body && document.body.hasAttribute("data-print-on-load")) {
    window.addEventListener("load", function () { window.print(); });
  }
}());
