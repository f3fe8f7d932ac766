// Keyboard shortcuts, countdown and the first-interaction ping for the labelling page. No inline script:
// the page's Content-Security-Policy allows scripts from /static only.
(function () {
  "use strict";
  const page = document.getElementById("label-page");
  if (!page) return;
  const id = page.dataset.assignment;
  const form = document.getElementById("label-form");
  const conf = document.getElementById("confidence");
  const out = document.getElementById("confidence-out");
  const radios = Array.from(form.querySelectorAll("input[name=strength]"));
  let pinged = false;

  function ping() {
    if (pinged) return;
    pinged = true;
    const meta = document.querySelector("meta[name=csrf-token]");
    fetch("/api/assignments/" + id + "/interaction", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": meta ? meta.content : "" },
    });
  }
  function showConf() {
    out.textContent = Math.round(parseFloat(conf.value) * 100) + "%";
  }
  function select(radio) {
    radio.checked = true;
    radios.forEach(function (r) { r.parentElement.classList.toggle("selected", r.checked); });
    const tie = radio.value === "0";
    if (tie) conf.value = "0.5";
    conf.disabled = tie;
    showConf();
  }
  radios.forEach(function (r) { r.addEventListener("change", function () { ping(); select(r); }); });
  conf.addEventListener("input", function () { ping(); showConf(); });
  form.addEventListener("submit", function () { conf.disabled = false; });
  ["click", "keydown", "scroll"].forEach(function (ev) { document.addEventListener(ev, ping, { once: true }); });

  document.addEventListener("keydown", function (e) {
    const typing = e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLInputElement &&
      e.target.type === "text" || e.target.name === "message";
    if (typing) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.id === "rationale") form.requestSubmit();
      return;
    }
    if (e.key >= "1" && e.key <= "7") {
      select(radios[parseInt(e.key, 10) - 1]);
      e.preventDefault();
    } else if (e.key === "[" || e.key === "]") {
      const step = e.key === "]" ? 0.05 : -0.05;
      conf.value = Math.min(1, Math.max(0.5, parseFloat(conf.value) + step)).toFixed(2);
      showConf();
    } else if (e.key === "Enter") {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  const timer = document.getElementById("timer");
  const deadline = Date.now() + parseFloat(page.dataset.secondsLeft) * 1000;
  function tick() {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    timer.textContent = left + " s";
    if (left <= 0) {
      timer.textContent = "time is up";
      document.getElementById("submit").disabled = true;
      return;
    }
    setTimeout(tick, 1000);
  }
  tick();
  showConf();
})();
