// One-time credentials page. The decryption key is the URL fragment (after #): browsers
// never send it to the server, and this script only ever hands it to WebCrypto. Only a
// SHA-256 "key check" goes to the server, so it can refuse a damaged link without
// using it up.
(function () {
  "use strict";

  var root = document.getElementById("vault");
  if (!root) return;
  var revealButton = document.getElementById("reveal");
  var statusLine = document.getElementById("status");
  var result = document.getElementById("result");
  var linkId = root.getAttribute("data-link-id");
  var revealUrl = root.getAttribute("data-reveal-url");
  var KEY_CHECK_LABEL = "aws-access-bot link key check v1\u0000";
  var CSV_HEADER = [
    "User name", "Password", "Access key ID", "Secret access key", "Console login link"
  ];
  var FIELDS = [
    ["user_name", "User name"],
    ["password", "Password"],
    ["access_key_id", "Access key ID"],
    ["secret_access_key", "Secret access key"],
    ["console_url", "Console sign-in URL"]
  ];

  function say(text, kind) {
    statusLine.textContent = text;
    statusLine.className = kind || "";
  }

  function fromB64url(text) {
    if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error("not base64url");
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function toB64url(bytes) {
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csvCell(value) {
    value = value == null ? "" : String(value);
    return /[",\r\n]/.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value;
  }

  function credentialsCsv(creds) {
    var row = [
      creds.user_name, creds.password, creds.access_key_id,
      creds.secret_access_key, creds.console_url
    ];
    return CSV_HEADER.map(csvCell).join(",") + "\r\n" + row.map(csvCell).join(",") + "\r\n";
  }

  function copy(text, button) {
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {
        button.textContent = "Select and copy by hand";
      });
    } else {
      button.textContent = "Select and copy by hand";
    }
  }

  function download(creds) {
    var blob = new Blob([credentialsCsv(creds)], { type: "text/csv" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "credentials.csv";
    document.body.appendChild(link);
    link.click();
    setTimeout(function () {
      URL.revokeObjectURL(link.href);
      link.remove();
    }, 1000);
  }

  function show(creds) {
    var list = document.getElementById("fields");
    FIELDS.forEach(function (field) {
      var value = creds[field[0]];
      if (!value) return; // e.g. no password for programmatic-only access
      var term = document.createElement("dt");
      term.textContent = field[1];
      var detail = document.createElement("dd");
      var code = document.createElement("code");
      code.id = "field-" + field[0];
      code.textContent = value; // text, never HTML
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      button.addEventListener("click", function () { copy(value, button); });
      detail.appendChild(code);
      detail.appendChild(button);
      list.appendChild(term);
      list.appendChild(detail);
    });
    document.getElementById("download").addEventListener("click", function () {
      download(creds);
    });
    revealButton.hidden = true;
    result.hidden = false;
  }

  var key = null;
  try {
    key = fromB64url(location.hash.slice(1));
  } catch (e) {
    key = null;
  }
  if (!key || key.length !== 32) {
    say("This link is incomplete: the part after # is missing or damaged. " +
        "Open the whole link from your Slack message.", "error");
    return;
  }
  if (!window.crypto || !window.crypto.subtle) {
    say("This browser cannot decrypt the credentials here (WebCrypto needs an https page).",
        "error");
    return;
  }

  async function reveal() {
    revealButton.disabled = true;
    say("Revealing…");
    var label = new TextEncoder().encode(KEY_CHECK_LABEL);
    var checked = new Uint8Array(label.length + key.length);
    checked.set(label);
    checked.set(key, label.length);
    var proof = new Uint8Array(await crypto.subtle.digest("SHA-256", checked));
    var response = await fetch(revealUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ proof: toB64url(proof) }),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer"
    });
    var body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    if (!response.ok) {
      say(body.message || "The server answered " + response.status + ".", "error");
      if (response.status === 429) {
        var wait = parseInt(response.headers.get("Retry-After") || "60", 10);
        setTimeout(function () { revealButton.disabled = false; }, wait * 1000);
      }
      return;
    }
    var aesKey = await crypto.subtle.importKey("raw", key, { name: "AES-GCM" }, false,
                                               ["decrypt"]);
    var plain;
    try {
      plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromB64url(body.nonce),
          additionalData: new TextEncoder().encode(linkId) },
        aesKey, fromB64url(body.ciphertext));
    } catch (e) {
      say("The credentials could not be decrypted with this link's key. " +
          "Ask an account owner to re-issue them.", "error");
      return;
    }
    show(JSON.parse(new TextDecoder().decode(plain)));
    key = null;
    // Drop the key from the address bar and history; the link is used up anyway.
    history.replaceState(null, "", location.pathname + location.search);
    say("Shown once. Save them now: this page cannot show them again.", "ok");
  }

  revealButton.disabled = false;
  revealButton.addEventListener("click", function () {
    reveal().catch(function () {
      say("Something went wrong while revealing. Reload the page to see the link's state.",
          "error");
    });
  });
})();
