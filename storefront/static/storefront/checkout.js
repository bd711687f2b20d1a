// Checkout: show the fields for the chosen way of getting the order and of paying; take the card in
// Stripe.js's card Element and turn it into a PaymentMethod id before the form is sent, so card details go
// to Stripe (or the local double in tests and the demo) and never to this shop. After placing, when the
// shopper's bank wants to check it is them (3-D Secure), the next page runs that check with Stripe.js and
// comes back to the checkout's finish address, which records the order or says why not.
(function () {
  function stripeFor(holder) {
    var key = holder && holder.dataset.stripeKey;
    return key && typeof window.Stripe === "function" ? window.Stripe(key) : null;
  }

  // The bank's check (3-D Secure), on the page shown after placing. Stripe.js completes the next action of an
  // intent confirmed on the server; the local double's Stripe.js only knows confirmCardPayment, which runs its
  // check the same way. Whatever the answer, the finish address asks Stripe where the payment stands.
  var check = document.getElementById("bank-check");
  if (check) {
    var status = document.getElementById("bank-check-status");
    var stripeForCheck = stripeFor(check);
    if (!stripeForCheck) {
      status.textContent = "We could not reach the card service; check your connection, then carry on.";
      return;
    }
    var secret = check.dataset.clientSecret;
    var asked = stripeForCheck.handleNextAction ? stripeForCheck.handleNextAction({clientSecret: secret})
                                                : stripeForCheck.confirmCardPayment(secret);
    status.textContent = "Waiting for your bank…";
    Promise.resolve(asked).catch(function () { return null; }).then(function () {
      status.textContent = "Checking the answer…";
      window.location.assign(check.dataset.finishUrl);
    });
    return;
  }

  var form = document.getElementById("checkout-form");
  if (!form) { return; }
  var pmInput = document.getElementById("id_payment_method_id");
  var mount = document.getElementById("card");
  var cardError = document.getElementById("card-error");
  var button = document.getElementById("place-order");
  var stripe = stripeFor(mount);
  var card = null;
  if (stripe) {
    card = stripe.elements().create("card", {hidePostalCode: true});
    card.mount(mount);
    // Stripe's own Element labels its fields inside its frame; the local double's plain inputs are named here.
    var names = {number: "Card number", exp_month: "Expiry month", exp_year: "Expiry year", cvc: "Security code",
                 postal_code: "Card postcode"};
    mount.querySelectorAll("input:not([aria-label])").forEach(function (input) {
      var name = names[input.placeholder] || names[input.name];
      if (name) { input.setAttribute("aria-label", name); }
    });
  }

  function checked(name) {
    var input = form.querySelector("input[name=" + name + "]:checked");
    return input ? input.value : "";
  }

  function showSections() {
    var how = checked("fulfilment");
    form.querySelectorAll("[data-show-for]").forEach(function (section) {
      section.hidden = how !== "" && section.dataset.showFor !== how;
    });
    var saved = form.querySelector("select[name=saved_address]");
    var fresh = form.querySelector("[data-new-address]");
    if (saved && fresh) { fresh.hidden = saved.value !== ""; }
    var payAtPickup = form.querySelector("input[name=payment_method][value=pay_at_pickup]");
    if (payAtPickup) {
      payAtPickup.disabled = how === "delivery";
      if (payAtPickup.disabled && payAtPickup.checked) {
        form.querySelector("input[name=payment_method][value=card]").checked = true;
      }
    }
    form.querySelector("[data-card]").hidden = checked("payment_method") !== "card";
  }
  form.addEventListener("change", showSections);
  showSections();

  // Another store chosen: its collection day, opening hours and collection times come from the same page the
  // "Show when and where to collect" button asks for (which stays for a browser that cannot fetch).
  var storeSelect = form.querySelector("select[name=store]");
  var refresh = form.querySelector("[data-pickup-refresh]");
  if (storeSelect && refresh && window.fetch && window.DOMParser) {
    refresh.hidden = true;
    var asked = 0;  // only the answer for the store chosen last is shown
    storeSelect.addEventListener("change", function () {
      var mine = ++asked;
      var details = document.getElementById("pickup-details");
      var data = new FormData(form);
      data.set("action", "quote");
      data.delete("collect_window");  // the last store's collection time is not this one's
      details.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("action"), {method: "POST", body: data, credentials: "same-origin"}).then(function (response) {
        return response.text();
      }).then(function (html) {
        if (mine !== asked) { return; }
        var answer = new DOMParser().parseFromString(html, "text/html");
        var fresh = answer.getElementById("pickup-details");
        if (!fresh) { throw new Error("no store details in the answer"); }
        details.replaceWith(document.importNode(fresh, true));
        var summary = document.querySelector("aside.side"), freshSummary = answer.querySelector("aside.side");
        if (summary && freshSummary) { summary.replaceWith(document.importNode(freshSummary, true)); }
        var freshButton = answer.getElementById("place-order");
        if (freshButton && !sending) { button.textContent = freshButton.textContent; }
      }).catch(function () {
        if (mine !== asked) { return; }
        details.removeAttribute("aria-busy");
        refresh.hidden = false;
      });
    });
  }
  if (!cardError.hidden) { mount.scrollIntoView({block: "center"}); }  // the server refused the card: start there

  function showCardError(message) {
    cardError.textContent = message;
    cardError.hidden = false;
    mount.setAttribute("aria-invalid", "true");
    mount.scrollIntoView({block: "center"});
  }

  function clearCardError() {
    cardError.textContent = "";
    cardError.hidden = true;
    mount.removeAttribute("aria-invalid");
  }

  // A PaymentMethod from the card Element. The local double's Stripe.js makes none (its createPaymentMethod
  // answers nothing); its PaymentIntents take the card of a token instead, which it does make.
  function paymentMethodId() {
    return Promise.resolve(stripe.createPaymentMethod({type: "card", card: card})).then(function (result) {
      if (result && result.paymentMethod) { return result.paymentMethod.id; }
      if (result && result.error) { throw result.error; }
      return stripe.createToken(card).then(function (tokenResult) {
        if (tokenResult.error || !tokenResult.token) { throw tokenResult.error || {}; }
        return tokenResult.token.card.id;
      });
    });
  }

  function submitPlacing() {
    // Send the form as the "Place order" button would (its name and value say what to do).
    var action = document.createElement("input");
    action.type = "hidden";
    action.name = "action";
    action.value = "place";
    form.appendChild(action);
    form.submit();
  }

  var sending = false;
  form.addEventListener("submit", function (event) {
    if (sending) { event.preventDefault(); return; }  // one order per click, however often it is clicked
    if (event.submitter && event.submitter.value === "quote") { return; }  // only updating options and totals
    if (checked("payment_method") !== "card") {
      pmInput.value = "";
      sending = true;
      button.disabled = true;
      return;
    }
    event.preventDefault();
    clearCardError();
    if (!card) { showCardError("Card payments are not available right now; choose pay when you collect."); return; }
    sending = true;
    button.disabled = true;
    button.dataset.label = button.textContent;
    button.textContent = "Checking your card…";
    paymentMethodId().then(function (id) {
      pmInput.value = id;
      button.textContent = "Placing your order…";
      submitPlacing();
    }).catch(function (problem) {
      sending = false;
      button.disabled = false;
      button.textContent = button.dataset.label;
      var message = problem && problem.message;
      showCardError(message ? "Your card was not accepted: " + message
                            : "We could not reach the card service; check your connection. Nothing was charged.");
    });
  });
})();
