// Checks an identity number as it is typed (the server checks it again): the format
// ÅÅÅÅMMDD-NNNN or NNNNNN-NNNN, and the check digit (Luhn over the last ten digits).
(function () {
  var input = document.getElementById("nummer");
  var message = document.getElementById("nummer-fel");
  if (!input || !message) return;
  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = digits.charCodeAt(i) - 48;
      if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }
  function problem(text) {
    var match = /^\s*(\d{8}|\d{6})[-+ ]?(\d{4})\s*$/.exec(text);
    if (!match) return "Skriv numret som ÅÅÅÅMMDD-NNNN (personnummer) eller NNNNNN-NNNN (organisationsnummer).";
    var digits = match[1] + match[2];
    if (!luhn(digits.slice(-10))) return "Kontrollsiffran stämmer inte. Kontrollera numret.";
    return "";
  }
  input.addEventListener("input", function () {
    var text = input.value;
    var found = text.trim().length >= 10 ? problem(text) : "";
    message.textContent = found;
    message.hidden = !found;
    if (found) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
  });
})();
