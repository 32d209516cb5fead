// Toasts, the page title's count, and a small form dialog for actions that need input (reasons,
// amounts, dates). Errors show the envelope's `message`, in the agent's language.
import { ApiError } from "./api.js";
import { $, fill, h } from "./dom.js";
import { t } from "./i18n.js";

export function errorText(error) {
  if (error instanceof ApiError) {
    if (error.code === "network_error") return t("error.network");
    return error.message;
  }
  return String(error && error.message ? error.message : error);
}

/** A short notice in the corner; `kind` is "info" | "success" | "error" | "alert". */
export function toast(text, kind = "info", { action, onAction } = {}) {
  const box = $("#toasts");
  const close = () => node.remove();
  const node = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", {}, text),
    action ? h("button", { type: "button", class: "link", onclick: () => { close(); onAction(); } }, action) : null,
    h("button", { type: "button", class: "toast-close", "aria-label": t("action.dismiss"), onclick: close }, "×"),
  );
  box.append(node);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(close, kind === "error" ? 9000 : 5000);
}

export function showError(error) {
  toast(errorText(error), "error");
}

let baseTitle = document.title;
export function setTitleCount(count) {
  baseTitle = t("app.title");
  document.title = count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
}

/**
 * A modal form. fields: [{name, label, type ("text"|"textarea"|"select"|"datetime-local"|"checkboxes"),
 * value, options: [[value, label]], required, hint}]. `submit(values)` runs on submit; an error it throws
 * is shown in the dialog, which stays open; on success the dialog closes and `form` resolves true.
 */
export function form({ title, intro, fields, submitLabel, danger = false, submit }) {
  const dialog = $("#dialog");
  return new Promise((resolve) => {
    const errorBox = h("p", { class: "form-error", role: "alert", hidden: true });
    const controls = fields.map((field) => control(field));
    const submitButton = h("button", { type: "submit", class: danger ? "danger" : "primary" }, submitLabel);
    const formNode = h(
      "form",
      { method: "dialog", class: "dialog-form", novalidate: true },
      h("h2", {}, title),
      intro ? h("p", { class: "muted" }, intro) : null,
      controls.map((entry) => entry.node),
      errorBox,
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { type: "button", class: "ghost", onclick: () => dialog.close("cancel") }, t("action.cancel")),
        submitButton,
      ),
    );
    formNode.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(controls.map((entry) => [entry.field.name, entry.value()]));
      const missing = controls.find((entry) => entry.field.required && !String(entry.value() ?? "").trim());
      if (missing) {
        fill(errorBox, t("form.required", { field: missing.field.label }));
        errorBox.hidden = false;
        missing.focus();
        return;
      }
      submitButton.disabled = true;
      try {
        await submit(values);
        dialog.close("done");
        resolve(true);
      } catch (error) {
        fill(errorBox, errorText(error));
        errorBox.hidden = false;
      } finally {
        submitButton.disabled = false;
      }
    });
    dialog.addEventListener("close", () => resolve(false), { once: true });
    fill(dialog, formNode);
    dialog.showModal();
    controls[0]?.focus();
  });
}

function control(field) {
  const id = `field-${field.name}`;
  let input;
  let value;
  if (field.type === "textarea") {
    input = h("textarea", { id, name: field.name, rows: 4, maxlength: field.maxlength || 2000 });
    input.value = field.value || "";
    value = () => input.value.trim();
  } else if (field.type === "select") {
    input = h("select", { id, name: field.name }, field.options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(field.value) }, label)));
    value = () => input.value;
  } else if (field.type === "checkboxes") {
    const boxes = field.options.map(([v, label]) => h("label", { class: "check" }, h("input", { type: "checkbox", value: v, checked: (field.value || []).includes(v) }), label));
    input = h("div", { class: "checks", id }, boxes);
    value = () => boxes.map((box) => box.firstChild).filter((box) => box.checked).map((box) => box.value);
    return { field, node: h("fieldset", { class: "field" }, h("legend", {}, field.label), input), value, focus: () => boxes[0]?.firstChild.focus() };
  } else {
    input = h("input", { id, name: field.name, type: field.type || "text", autocomplete: "off", inputmode: field.inputmode });
    input.value = field.value || "";
    value = () => input.value.trim();
  }
  const node = h("label", { class: "field", for: id }, h("span", {}, field.label), input, field.hint ? h("small", { class: "muted" }, field.hint) : null);
  return { field, node, value, focus: () => input.focus() };
}
