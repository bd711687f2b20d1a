// Checkout: show the fields for the chosen way of getting the order and of paying, and turn the card
// into a Stripe PaymentMethod id before the form is sent. Card details go to the configured Stripe API
// (real Stripe, or the local double in tests and the demo) and never to this shop's server.
(function () {
  var form = document.getElementById("checkout-form");
  if (!form) { return; }
  var base = form.dataset.stripeBase.replace(/\/$/, "");
  var key = form.dataset.stripeKey;
  var pmInput = document.getElementById("id_payment_method_id");
  var cardError = document.getElementById("card-number-error");
  var button = document.getElementById("place-order");
  var cardFields = ["card-number", "card-expiry", "card-cvc"].map(function (id) { return document.getElementById(id); });

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
  if (!cardError.hidden) { cardFields[0].focus(); }  // the server refused the card: start there

  function showCardError(message) {
    cardError.textContent = message;
    cardError.hidden = false;
    cardFields[0].setAttribute("aria-invalid", "true");
    cardFields[0].setAttribute("aria-describedby", "card-number-error");
    cardFields[0].focus();
  }

  function clearCardError() {
    cardError.textContent = "";
    cardError.hidden = true;
    cardFields[0].removeAttribute("aria-invalid");
  }

  function readCard() {
    var number = cardFields[0].value.replace(/[\s-]/g, "");
    var expiry = cardFields[1].value.replace(/\s/g, "").match(/^(\d{1,2})\/?(\d{2}|\d{4})$/);
    var cvc = cardFields[2].value.trim();
    if (!/^\d{13,19}$/.test(number)) { throw new Error("Enter the long number on the front of your card."); }
    if (!expiry || +expiry[1] < 1 || +expiry[1] > 12) { throw new Error("Enter the expiry date as MM/YY, e.g. 12/34."); }
    if (!/^\d{3,4}$/.test(cvc)) { throw new Error("Enter the 3 or 4 digit security code from the back of your card."); }
    var year = expiry[2].length === 2 ? "20" + expiry[2] : expiry[2];
    return {"card[number]": number, "card[exp_month]": String(+expiry[1]), "card[exp_year]": year, "card[cvc]": cvc};
  }

  function post(path, fields) {
    // Form-encoded with the publishable key in the body, as Stripe.js sends it: a simple cross-origin request.
    var body = new URLSearchParams(fields);
    body.set("key", key);
    return fetch(base + path, {method: "POST", body: body}).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return {status: response.status, json: json};
      });
    });
  }

  function refused(answer) {
    var message = answer.json && answer.json.error && answer.json.error.message;
    return new Error(message ? "Your card was not accepted: " + message
                             : "Your card could not be checked just now; nothing was charged. Try again.");
  }

  function createPaymentMethod(card) {
    var fields = Object.assign({type: "card"}, card);
    return post("/v1/payment_methods", fields).then(function (answer) {
      if (answer.status === 401) {
        // The local Stripe double (localstripe) takes a publishable key only on /v1/tokens; its
        // PaymentIntents accept the token's card id in place of a PaymentMethod id.
        return post("/v1/tokens", card).then(function (tokenAnswer) {
          if (tokenAnswer.status !== 200 || !tokenAnswer.json.card) { throw refused(tokenAnswer); }
          return tokenAnswer.json.card.id;
        });
      }
      if (answer.status !== 200 || !answer.json.id) { throw refused(answer); }
      return answer.json.id;
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
    var card;
    try { card = readCard(); } catch (problem) { showCardError(problem.message); return; }
    if (!key) { showCardError("Card payments are not available right now; choose pay when you collect."); return; }
    sending = true;
    button.disabled = true;
    button.dataset.label = button.textContent;
    button.textContent = "Checking your card…";
    createPaymentMethod(card).then(function (id) {
      pmInput.value = id;
      button.textContent = "Placing your order…";
      submitPlacing();
    }).catch(function (problem) {
      sending = false;
      button.disabled = false;
      button.textContent = button.dataset.label;
      showCardError(problem instanceof TypeError
        ? "We could not reach the card service; check your connection. Nothing was charged."
        : problem.message);
    });
  });
})();
