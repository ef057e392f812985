// Stripe Checkout embedded in the invoice's payment page (Stripe.js from js.stripe.com,
// allowed by this page's Content-Security-Policy only). Without JavaScript the Pay form
// goes to Stripe's hosted page instead.
(function () {
  "use strict";

  function mount() {
    var box = document.getElementById("stripe-checkout");
    if (!box) return;
    if (typeof window.Stripe !== "function") {
      var loading = box.querySelector("[data-checkout-loading]");
      if (loading) loading.textContent = "Stripe's payment form could not be loaded. Please reload the page, or go back to the invoice and try again.";
      return;
    }
    var stripe = window.Stripe(box.getAttribute("data-publishable-key"));
    var secret = box.getAttribute("data-client-secret");
    // Stripe.js renamed initEmbeddedCheckout to createEmbeddedCheckoutPage (2026-03-25); use
    // whichever the loaded Stripe.js has.
    var create = stripe.createEmbeddedCheckoutPage || stripe.initEmbeddedCheckout;
    create.call(stripe, { fetchClientSecret: function () { return Promise.resolve(secret); } })
      .then(function (checkout) { box.innerHTML = ""; checkout.mount(box); })
      .catch(function () {
        var loading = box.querySelector("[data-checkout-loading]");
        if (loading) loading.textContent = "Stripe's payment form could not be started. Please go back to the invoice and try again.";
      });
  }

  if (document.readyState === "complete") mount();
  else window.addEventListener("load", mount);
})();
