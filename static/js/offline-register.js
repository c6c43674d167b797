// Offline registration: registrations wait in this device's storage until the server has taken them.
// Each carries an id made here (client_id): sending it twice registers it once, so a send that times out
// after the server committed is simply sent again.
(function () {
  "use strict";
  const app = document.getElementById("offline-app");
  if (!app) return;
  const form = document.getElementById("offline-form");
  const members = document.getElementById("o-members");
  const template = document.getElementById("o-member-template");
  const list = document.getElementById("o-queue");
  const status = document.getElementById("connection");
  const msg = (name) => app.dataset["msg" + name.charAt(0).toUpperCase() + name.slice(1)];
  const KEY = "aidcase.offline.queue." + app.dataset.user;
  let sending = false;

  const load = () => JSON.parse(localStorage.getItem(KEY) || "[]");
  const save = (queue) => localStorage.setItem(KEY, JSON.stringify(queue));
  const uuid = () =>
    crypto.randomUUID
      ? crypto.randomUUID()
      : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
          (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));

  function addMember(relationship) {
    const node = template.content.firstElementChild.cloneNode(true);
    if (relationship) node.querySelector("[name=relationship]").value = relationship;
    members.appendChild(node);
    return node;
  }

  function body() {
    const data = new FormData(form);
    const rows = Array.from(members.querySelectorAll(".member")).map((row) => {
      const value = (name) => row.querySelector(`[name=${name}]`).value.trim();
      const member = {
        given_name: value("given_name"), father_name: value("father_name"), family_name: value("family_name"),
        sex: value("sex"), relationship: value("relationship"), tazkira_number: value("tazkira_number"),
      };
      if (value("age_years") !== "") member.age_years = Number(value("age_years"));
      return member;
    }).filter((m) => m.given_name || m.father_name);
    return {
      client_id: uuid(),
      crossing_point: data.get("crossing_point"), arrival_date: data.get("arrival_date"),
      destination_province: data.get("destination_province"),
      destination_district: (data.get("destination_district") || "").trim(),
      phone: (data.get("phone") || "").trim(), consent_to_share: data.get("consent_to_share") === "on",
      members: rows,
    };
  }

  function text(tag, content, cls) {
    const node = document.createElement(tag);
    node.textContent = content;
    if (cls) node.className = cls;
    return node;
  }

  function familyLink(id, label) {
    const link = text("a", label);
    link.href = app.dataset.familyUrl.replace("00000000-0000-0000-0000-000000000000", id);
    return link;
  }

  function render() {
    list.replaceChildren();
    for (const item of load()) {
      const head = item.body.members[0] || {};
      const li = document.createElement("li");
      li.dataset.clientId = item.body.client_id;
      li.dataset.state = item.state;
      li.appendChild(text("bdi", `${head.given_name || ""} ${head.father_name || ""}`.trim()));
      li.append(` (${item.body.members.length}) · `);
      if (item.state === "waiting") li.appendChild(text("span", msg("waiting"), "muted"));
      if (item.state === "sent" || item.state === "duplicate") {
        li.appendChild(familyLink(item.id, `${msg("sent")} ${item.case_number}`));
      }
      if (item.state === "duplicate") {
        li.append(" · ");
        li.appendChild(text("strong", msg("duplicate") + " "));
        item.duplicates.forEach((d, i) => {
          if (i) li.append(", ");
          li.appendChild(familyLink(d.id, d.case_number));
        });
      }
      if (item.state === "error") {
        li.appendChild(text("strong", msg("error") + ": " + item.error, "errors"));
      }
      list.appendChild(li);
    }
  }

  function showConnection(extra) {
    status.textContent = extra || (navigator.onLine ? msg("online") : msg("offline"));
  }

  function describe(errors) {
    const parts = [];
    const walk = (value, path) => {
      if (Array.isArray(value) && value.every((v) => typeof v === "string")) parts.push(`${path}: ${value.join(" ")}`);
      else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`));
      else if (value && typeof value === "object") Object.entries(value).forEach(([k, v]) => walk(v, path ? `${path}.${k}` : k));
      else if (value) parts.push(`${path}: ${value}`);
    };
    walk(errors, "");
    return parts.join("; ");
  }

  async function sync() {
    if (sending) return;
    sending = true;
    try {
      for (const item of load().filter((i) => i.state === "waiting")) {
        let response;
        try {
          response = await fetch(app.dataset.api, {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": app.dataset.csrf, Accept: "application/json" },
            body: JSON.stringify(item.body),
          });
        } catch (e) {
          showConnection(msg("offline"));
          return; // no connection: try again when it returns
        }
        if (response.status === 401 || response.status === 403) {
          showConnection(msg("login"));
          return;
        }
        const data = await response.json().catch(() => ({}));
        const queue = load();
        const stored = queue.find((i) => i.body.client_id === item.body.client_id);
        if (!stored) continue;
        if (response.ok) {
          stored.id = data.id;
          stored.case_number = data.case_number;
          stored.duplicates = (data.possible_duplicates || []).map((d) => ({ id: d.id, case_number: d.case_number }));
          stored.state = stored.duplicates.length ? "duplicate" : "sent";
          stored.sent_at = Date.now();
        } else if (response.status >= 400 && response.status < 500) {
          stored.state = "error";
          stored.error = describe(data) || String(response.status);
        } else {
          return; // the server is in trouble: keep waiting, try later
        }
        save(queue);
        render();
      }
      showConnection();
    } finally {
      sending = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const registration = body();
    if (!registration.members.length) {
      members.querySelector("[name=given_name]").focus();
      return;
    }
    const queue = load();
    queue.push({ body: registration, state: "waiting", queued_at: Date.now() });
    save(queue);
    form.reset();
    members.replaceChildren(members.firstElementChild);
    addMember("head");
    render();
    sync();
  });
  document.getElementById("o-add-member").addEventListener("click", () => addMember("child").querySelector("input").focus());
  document.getElementById("o-sync").addEventListener("click", sync);
  document.getElementById("o-clear").addEventListener("click", () => {
    save(load().filter((i) => i.state === "waiting" || i.state === "error"));
    render();
  });
  window.addEventListener("online", () => { showConnection(); sync(); });
  window.addEventListener("offline", () => showConnection());
  setInterval(sync, 30000);

  // Registered families leave this device after a day: personal data is not kept where it is not needed.
  save(load().filter((i) => !(i.sent_at && Date.now() - i.sent_at > 24 * 3600 * 1000)));
  addMember("head");
  render();
  showConnection();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(app.dataset.sw).catch(() => {});
  sync();
})();
