// The Hosted Vault page: lists the consumer's CRM connections and lets the end customer
// connect (OAuth or a settings form generated from the connector's form fields), see the
// state of, and disconnect each one. The session token in the page's path is its only
// credential; every call goes to crmgate's session API with it.
"use strict";
(() => {
  const token = decodeURIComponent(location.pathname.split("/").pop());
  const $ = (id) => document.getElementById(id);
  const statusLine = $("status");
  const list = $("connections");
  let session = null;

  async function api(method, path, body) {
    const headers = { "x-vault-session": token };
    if (body) headers["content-type"] = "application/json";
    const response = await fetch("/vault/session-api" + path, {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const detail = data && (typeof data.detail === "string" ? data.detail : data.message);
      throw new Error(detail || `The gateway answered ${response.status}.`);
    }
    return data && data.data;
  }

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.className = isError ? "error" : "";
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  const LABELS = {
    available: "Not connected",
    added: "Settings missing",
    authorized: "Settings missing",
    callable: "Connected",
    invalid: "Needs to be connected again",
  };

  function settingsForm(connection) {
    const service = connection.service_id;
    const fields = connection.form_fields.map((field) => {
      const id = `${service}-${field.id}`;
      const stored = field.value !== null && field.value !== undefined;
      return el(
        "div",
        {},
        el(
          "label",
          { for: id },
          field.label,
          field.description ? el("span", { class: "hint" }, field.description) : null,
        ),
        el("input", {
          id,
          name: field.id,
          type: field.type === "password" ? "password" : field.type === "url" ? "url" : "text",
          autocomplete: "off",
          value: stored && !field.sensitive ? field.value : null,
          placeholder: stored && field.sensitive ? "Saved — enter a new value to replace it" : null,
        }),
      );
    });
    const form = el(
      "form",
      {
        "data-service": service,
        onsubmit: async (event) => {
          event.preventDefault();
          const settings = {};
          for (const input of form.querySelectorAll("input")) {
            if (input.value !== "") settings[input.name] = input.value;
          }
          try {
            const saved = await api("PATCH", `/connections/${service}`, { settings });
            say(`Saved. ${saved.name} is ${LABELS[saved.state].toLowerCase()}.`);
            await render();
          } catch (error) {
            say(error.message, true);
          }
        },
      },
      ...fields,
      el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, "Save")),
    );
    return form;
  }

  // What the page calls one record of each resource.
  const RECORDS = {
    opportunities: "deal",
    companies: "company",
    contacts: "contact",
    leads: "lead",
    activities: "activity",
    notes: "note",
    users: "user",
    pipelines: "pipeline",
  };

  // A custom field of one of the connection's resources: which resource, a name, and where
  // its value is in the vendor's record; saved to the consumer's own mapping layer, then
  // shown on the resource's first record as the gateway now reads it.
  function mappingForm(connection) {
    const service = connection.service_id;
    const resources = connection.configurable_resources;
    const record = (resource) => RECORDS[resource] || "record";
    const output = el("output", { id: `${service}-preview`, for: `${service}-map-resource ${service}-map-key ${service}-map-path` });
    const pathHint = el("span", { class: "hint" }, "A JSONPath into the record, such as $.region.");
    const pathLabel = el("label", { for: `${service}-map-path` });
    const describe = (resource) => {
      pathLabel.replaceChildren(`Where it is in the ${connection.name} ${record(resource)}`, pathHint);
    };
    const initial = resources.includes("opportunities") ? "opportunities" : resources[0];
    const picker = el(
      "select",
      { id: `${service}-map-resource`, name: "resource", onchange: (event) => describe(event.target.value) },
      ...resources.map((resource) =>
        el("option", resource === initial ? { value: resource, selected: true } : { value: resource }, resource),
      ),
    );
    describe(initial);
    const form = el(
      "form",
      {
        "data-mapping": service,
        onsubmit: async (event) => {
          event.preventDefault();
          const resource = picker.value;
          const key = form.querySelector("[name=key]").value.trim();
          const path = form.querySelector("[name=path]").value.trim();
          try {
            await api("PUT", `/connections/${service}/mappings/crm+${resource}+${encodeURIComponent(key)}`, { value: path });
            const page = await api("GET", `/connections/${service}/${resource}/preview`);
            const first = page[0];
            if (!first) {
              output.textContent = `Saved. ${connection.name} has no ${resource} to preview yet.`;
            } else {
              const value = (first.custom_mappings || {})[key];
              const shown = value === undefined || value === null ? "(empty)" : JSON.stringify(value);
              const named = first.title || first.name || first.subject || first.id;
              output.textContent = `Saved. On “${named}”, ${key} is ${shown}.`;
            }
          } catch (error) {
            output.textContent = error.message;
          }
        },
      },
      el("div", {}, el("label", { for: `${service}-map-resource` }, "Resource", el("span", { class: "hint" }, "The kind of record the field belongs to.")), picker),
      el("div", {}, el("label", { for: `${service}-map-key` }, "Field name", el("span", { class: "hint" }, "How the field is called in the application, such as region.")), el("input", { id: `${service}-map-key`, name: "key", required: true, autocomplete: "off" })),
      el("div", {}, pathLabel, el("input", { id: `${service}-map-path`, name: "path", required: true, autocomplete: "off" })),
      el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, "Save and preview")),
      output,
    );
    return el("details", { "data-section": "mapping" }, el("summary", {}, "Map a field"), form);
  }

  function card(connection) {
    const service = connection.service_id;
    const stored = connection.state !== "available";
    const headingId = `${service}-name`;
    const actions = el("div", { class: "actions" });
    if (connection.authorize_url) {
      const href = `${connection.authorize_url}&session=${encodeURIComponent(token)}`;
      const verb = stored && connection.auth_type === "oauth2" ? "Reconnect" : "Connect";
      actions.append(el("a", { class: "button", href, "data-action": "authorize" }, `${verb} with ${connection.name}`));
    }
    if (stored && session.can_disconnect) {
      actions.append(
        el(
          "button",
          {
            type: "button",
            class: "secondary",
            "data-action": "disconnect",
            onclick: async () => {
              try {
                await api("DELETE", `/connections/${service}`);
                say(`${connection.name} is disconnected.`);
                await render();
              } catch (error) {
                say(error.message, true);
              }
            },
          },
          "Disconnect",
        ),
      );
    }
    const form = settingsForm(connection);
    const settings = connection.authorize_url
      ? el("details", {}, el("summary", {}, "Connect with settings instead"), form)
      : form;
    return el(
      "section",
      { class: "connection", "aria-labelledby": headingId, "data-service": service, "data-state": connection.state },
      el(
        "div",
        { class: "head" },
        el("h2", { id: headingId }, connection.name),
        el("span", { class: `state state-${connection.state}` }, LABELS[connection.state] || connection.state),
      ),
      actions.childElementCount ? actions : null,
      settings,
      connection.state === "callable" && connection.configurable_resources.length
        ? mappingForm(connection)
        : null,
    );
  }

  async function render() {
    const connections = await api("GET", "/connections");
    list.replaceChildren(...connections.map(card));
    if (!connections.length) list.append(el("p", {}, "No integrations are available here."));
    list.setAttribute("aria-busy", "false");
  }

  async function start() {
    try {
      session = await api("GET", "/session");
      const who = session.consumer_metadata || {};
      const name = who.user_name || who.email || session.consumer_id;
      $("who").textContent = who.account_name ? `${name}, ${who.account_name}` : name;
      $("sandbox").hidden = !session.sandbox_mode;
      if (session.redirect_uri) {
        $("back").href = session.redirect_uri;
        $("back").hidden = false;
      }
      await render();
    } catch (error) {
      list.replaceChildren();
      list.setAttribute("aria-busy", "false");
      say(error.message, true);
    }
  }

  start();
})();
