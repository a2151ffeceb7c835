// Pickers for the workflow version page (workflows/admin_builder.py): a field's task, an
// approval's subjects, a rule's condition and targets are picked by name among the page's rows,
// saved or not, so a version with rules and approvals is built in one save. Each picker keeps
// its value, a JSON reference or list of references, in the input it replaces.
"use strict";
(function () {
  const OPERATORS = ["Is", "IsNot", "HasAnyValue", "HasNoValue", "IsGreaterThan", "IsLessThan"];
  const NO_VALUE = new Set(["HasAnyValue", "HasNoValue"]);
  // Every picker's option list, refreshed when a task's name or a field's label changes.
  const refreshers = [];
  const refreshAll = () => refreshers.forEach((refresh) => refresh());

  // The rows of an inline, by reference: a saved row's id, a new row's form prefix.
  function rows(prefix, labelName) {
    const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
    const out = [];
    if (!total) return out;
    for (let i = 0; i < Number(total.value); i++) {
      const p = `${prefix}-${i}`;
      const label = document.getElementById(`id_${p}-${labelName}`);
      const removed = document.getElementById(`id_${p}-DELETE`);
      if (!label || !label.value.trim() || (removed && removed.checked)) continue;
      const id = document.getElementById(`id_${p}-id`);
      out.push({ref: id && id.value ? id.value : p, label: label.value.trim(), prefix: p});
    }
    return out;
  }
  const tasks = () => rows("task_templates", "name");
  const fields = () => rows("field_templates", "label");

  function parse(text, fallback) {
    try { return text ? JSON.parse(text) : fallback; } catch (e) { return fallback; }
  }

  function fill(select, choices, chosen, placeholder) {
    const keep = new Set(chosen);
    select.replaceChildren();
    if (placeholder) select.append(new Option(placeholder, ""));
    for (const choice of choices) {
      select.append(new Option(choice.label, choice.ref, false, keep.has(choice.ref)));
    }
  }

  // A picker over one source input: `kind` is task (one), subjects, tasks or fields (several).
  function listPicker(source, kind) {
    const several = kind !== "task";
    const choices = () => {
      if (kind === "fields") return fields();
      const own = source.name.replace(/-(subjects|task|target_tasks_refs)$/, "");
      return tasks().filter((t) => kind !== "subjects" || t.prefix !== own);
    };
    const select = document.createElement("select");
    select.className = `version-picker picker-${kind}`;
    select.multiple = several;
    if (several) select.size = 4;
    const chosen = () => (several ? parse(source.value, []) : [source.value].filter(Boolean));
    const refresh = () => fill(select, choices(), chosen(), several ? "" : "---------");
    refreshers.push(refresh);
    select.addEventListener("mousedown", refresh);
    select.addEventListener("focus", refresh);
    select.addEventListener("change", () => {
      const picked = Array.from(select.selectedOptions).map((o) => o.value).filter(Boolean);
      source.value = several ? JSON.stringify(picked) : (picked[0] || "");
    });
    if (several) select.title = "Ctrl-click to pick several";
    refresh();
    return select;
  }

  // {"or": [{"and": [{"widgetId", "operator", "value"}]}]} edited as groups of clauses.
  function conditionPicker(source) {
    const box = document.createElement("div");
    box.className = "version-picker picker-condition";
    let condition = parse(source.value, null);
    if (!condition || !Array.isArray(condition.or) || !condition.or.length) {
      condition = {or: [{and: [{widgetId: "", operator: "Is", value: ""}]}]};
    }
    const save = () => { source.value = JSON.stringify(condition); };
    function render() {
      box.replaceChildren();
      condition.or.forEach((group, g) => {
        const groupBox = document.createElement("div");
        groupBox.className = "condition-group";
        if (g > 0) groupBox.append(Object.assign(document.createElement("p"),
          {className: "condition-or", textContent: "or"}));
        group.and.forEach((clause, c) => {
          const line = document.createElement("div");
          line.className = "condition-clause";
          if (c > 0) line.append(Object.assign(document.createElement("span"),
            {className: "condition-and", textContent: "and "}));
          const field = document.createElement("select");
          field.className = "condition-field";
          const refresh = () => fill(field, fields(), [clause.widgetId], "--- form field ---");
          refreshers.push(refresh);
          field.addEventListener("mousedown", refresh);
          field.addEventListener("focus", refresh);
          field.addEventListener("change", () => { clause.widgetId = field.value; save(); });
          refresh();
          const operator = document.createElement("select");
          operator.className = "condition-operator";
          for (const op of OPERATORS) operator.append(new Option(op, op, false, op === clause.operator));
          const value = Object.assign(document.createElement("input"),
            {type: "text", className: "condition-value", value: clause.value ?? "",
             placeholder: "value"});
          value.hidden = NO_VALUE.has(clause.operator);
          operator.addEventListener("change", () => {
            clause.operator = operator.value;
            value.hidden = NO_VALUE.has(clause.operator);
            save();
          });
          value.addEventListener("input", () => { clause.value = value.value; save(); });
          const remove = Object.assign(document.createElement("button"),
            {type: "button", className: "condition-remove", textContent: "✕", title: "Remove"});
          remove.addEventListener("click", () => {
            group.and.splice(c, 1);
            if (!group.and.length) condition.or.splice(g, 1);
            if (!condition.or.length) condition.or.push({and: [{widgetId: "", operator: "Is", value: ""}]});
            save(); render();
          });
          line.append(field, " ", operator, " ", value, " ", remove);
          groupBox.append(line);
        });
        const and = Object.assign(document.createElement("button"),
          {type: "button", className: "condition-add-and", textContent: "+ and"});
        and.addEventListener("click", () => {
          group.and.push({widgetId: "", operator: "Is", value: ""}); save(); render();
        });
        groupBox.append(and);
        box.append(groupBox);
      });
      const or = Object.assign(document.createElement("button"),
        {type: "button", className: "condition-add-or", textContent: "+ or"});
      or.addEventListener("click", () => {
        condition.or.push({and: [{widgetId: "", operator: "Is", value: ""}]}); save(); render();
      });
      box.append(or);
    }
    save();
    render();
    return box;
  }

  function attach(root) {
    for (const source of root.querySelectorAll("input[data-picker]")) {
      if (source.dataset.pickerReady || source.name.includes("__prefix__")) continue;
      source.dataset.pickerReady = "1";
      const kind = source.dataset.picker;
      const picker = kind === "condition" ? conditionPicker(source) : listPicker(source, kind);
      source.type = "hidden";
      source.after(picker);
    }
  }

  document.addEventListener("DOMContentLoaded", () => attach(document));
  document.addEventListener("formset:added", (event) => { attach(event.target); refreshAll(); });
  document.addEventListener("formset:removed", refreshAll);
  document.addEventListener("input", (event) => {
    if (/-(name|label)$/.test(event.target.name || "")) refreshAll();
  });
  document.addEventListener("change", (event) => {
    if (/-DELETE$/.test(event.target.name || "")) refreshAll();
  });
})();
