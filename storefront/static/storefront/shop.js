// Small helpers for the shop pages; every page works without them.
(function () {
  document.documentElement.classList.add("js");
  document.querySelectorAll(".no-js-only").forEach(function (el) { el.hidden = true; });

  // Picking a size or colour shows that variant's stock near you.
  document.querySelectorAll("[data-check-stock]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      var url = new URL(window.location.href);
      url.searchParams.set("sku", radio.value);
      url.hash = "add";
      window.location.assign(url.toString());
    });
  });

  // "Use my location": ask the browser, then submit the finder with the point (typed postcode is the fallback).
  document.querySelectorAll("[data-geolocate]").forEach(function (form) {
    var button = form.querySelector("[data-use-location]");
    var status = form.querySelector("[data-location-status]");
    if (!button || !("geolocation" in navigator)) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "Finding your location…";
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        form.querySelector("[data-lat]").value = position.coords.latitude.toFixed(5);
        form.querySelector("[data-lng]").value = position.coords.longitude.toFixed(5);
        form.querySelector("input[name=near]").value = "";
        form.submit();
      }, function () {
        button.disabled = false;
        status.textContent = "We could not get your location. Type a postcode or town instead.";
        form.querySelector("input[name=near]").focus();
      }, {timeout: 10000, maximumAge: 600000});
    });
  });
})();
