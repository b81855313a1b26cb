// The workbench works without this file; it only adds what helps a person typing: on the intake
// form, the similar cases and the knowledge articles of what has been typed so far, fetched from
// the service itself (the page's policy allows no other origin) a moment after typing stops.
"use strict";
(function () {
  var form = document.getElementById("intake");
  if (!form) { return; }
  function value(name) {
    var field = form.elements[name];
    return field ? field.value : "";
  }
  function load(target, path, params) {
    var query = Object.keys(params).filter(function (k) { return params[k]; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
    fetch(path + "?" + query, { credentials: "same-origin" })
      // Signed out meanwhile: the answer is the sign-in page (a redirect), not a piece of this one.
      .then(function (response) { return response.ok && !response.redirected ? response.text() : ""; })
      .then(function (html) { if (html) { document.getElementById(target).innerHTML = html; } })
      .catch(function () {});
  }
  var timer = null;
  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var text = value("subject") + " " + value("description");
      load("similar", "/workbench/intake/similar", {
        phone: value("citizen.phone"), category: value("category"), region: value("location.region"), text: text.trim()
      });
      load("knowledge", "/workbench/intake/knowledge", { q: value("subject") || value("description").slice(0, 40) });
    }, 400);
  }
  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
})();
