// Small helpers for the shop pages; every page works without them.
(function () {
  document.documentElement.classList.add("js");
  document.querySelectorAll(".no-js-only").forEach(function (el) { el.hidden = true; });

  // The variant picker: choosing a colour or size redoes, without a reload, the price, the stock words, what
  // each other value is ("Not made in this colour", "Out of stock"), the SKU to add and the address, from the
  // variants in #picker-data (storefront/picker.py says the same on the page); then reads the stores near
  // you again for the new choice. A "variantchange" event on the form tells others (the gallery) the colour.
  var pickerForm = document.querySelector("[data-picker]");
  var pickerData = document.getElementById("picker-data");
  if (pickerForm && pickerData) { setUpPicker(pickerForm, JSON.parse(pickerData.textContent)); }

  function setUpPicker(form, data) {
    var radios = Array.prototype.slice.call(form.querySelectorAll(".picker input[type=radio]"));
    var names = data.options.map(function (option) { return option.name; });
    var unmadeNote = {};
    data.options.forEach(function (option) { unmadeNote[option.name] = option.unmade; });
    var error = document.getElementById("sku-error");
    var group = document.getElementById("sku");
    var asked = 0;

    function selection() {
      var chosen = {};
      radios.forEach(function (radio) { if (radio.checked) { chosen[radio.name] = radio.value; } });
      return chosen;
    }
    function matching(chosen) {
      return data.variants.filter(function (variant) {
        return Object.keys(chosen).every(function (name) { return variant.options[name] === chosen[name]; });
      });
    }
    function without(chosen, name) {
      var others = {};
      Object.keys(chosen).forEach(function (other) { if (other !== name) { others[other] = chosen[other]; } });
      return others;
    }
    function noteFor(name, value, chosen) {
      var others = without(chosen, name);
      others[name] = value;
      var found = matching(others);
      if (!found.length) { return unmadeNote[name]; }
      return found.every(function (variant) { return variant.out; }) ? data.out : "";
    }

    function show() {
      var chosen = selection();
      var complete = names.every(function (name) { return name in chosen; });
      var variant = complete ? matching(chosen)[0] || null : null;
      radios.forEach(function (radio) {
        var note = noteFor(radio.name, radio.value, chosen);
        var label = radio.closest(".picker-value");
        label.querySelector("[data-note]").textContent = note;
        label.classList.toggle("is-unavailable", note !== "");
        label.classList.toggle("is-unmade", note !== "" && note !== data.out);
      });
      form.querySelectorAll("[data-option]").forEach(function (fieldset) {
        var value = chosen[fieldset.getAttribute("data-option")];
        fieldset.querySelector("[data-chosen]").textContent = value ? ": " + value : "";
      });
      document.querySelectorAll("[data-price]").forEach(function (price) { price.textContent = variant ? variant.price : ""; });
      var stock = form.querySelector("[data-stock]");
      stock.textContent = variant ? variant.stock : "";
      stock.className = "pill " + (variant ? variant.tone : "");
      stock.parentNode.hidden = !variant;
      var collect = form.querySelector("[data-collect]");
      if (collect) { collect.innerHTML = variant ? variant.collect : ""; collect.hidden = !variant; }
      form.querySelector("[data-sku]").value = variant ? variant.sku : "";
      var unmade = complete && !variant;
      error.textContent = unmade ? data.unmade : "";
      error.hidden = !unmade;
      if (unmade) { group.setAttribute("aria-describedby", "sku-error"); } else { group.removeAttribute("aria-describedby"); }

      var url = new URL(window.location.href);
      names.forEach(function (name) { if (chosen[name]) { url.searchParams.set(name, chosen[name]); } });
      ["sku", "variant", "quantity"].forEach(function (name) { url.searchParams.delete(name); });
      url.hash = "";
      history.replaceState(null, "", url.toString());
      form.dispatchEvent(new CustomEvent("variantchange", {bubbles: true, detail: {
        sku: variant ? variant.sku : null, colour: data.colour ? chosen[data.colour] || null : null, options: chosen}}));
      document.querySelectorAll(".near-form").forEach(function (near) {  // finding stores keeps this choice
        var hidden = near.querySelector("input[name=sku]");
        if (!hidden) {
          hidden = document.createElement("input");
          hidden.type = "hidden";
          hidden.name = "sku";
          near.prepend(hidden);
        }
        hidden.value = variant ? variant.sku : "";
      });
      refreshNearby(url.toString());
    }

    // The stores near you, the pictures (the new colour's) and the page's title for the new choice, from the page
    // the address now names.
    function refreshNearby(address) {
      var ask = ++asked;
      fetch(address, {credentials: "same-origin"}).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html === null || ask !== asked) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["near-for", "near-stores", "gallery"].forEach(function (id) {
          var here = document.getElementById(id), there = fresh.getElementById(id);
          if (here && there) { here.innerHTML = there.innerHTML; }
        });
        document.title = fresh.title;
      }).catch(function () { /* the panel keeps the last choice's stores; a reload shows this one's */ });
    }

    radios.forEach(function (radio) { radio.addEventListener("change", show); });
  }

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
