// The till receipt on an 80 mm roll: "80mm auto" asks for a page as long as the receipt, but Chromium drops
// a size it cannot read and prints on Letter; so give it the receipt's own length, to the millimetre.
(function () {
  "use strict";
  var receipt = document.getElementById("receipt");
  if (!receipt) return;
  var length = Math.ceil(receipt.getBoundingClientRect().height * 25.4 / 96) + 4;
  var page = document.createElement("style");
  page.media = "print";
  page.textContent = "@page { size: 80mm " + length + "mm; margin: 0 }";
  document.head.appendChild(page);
}());
