/*
 * Schedule rows on the job form: show only the chosen type's fields, and
 * preview the next fire times as the row changes (the server's engine
 * computes them; this file only collects the fields and shows the answer).
 */
"use strict";

(function () {
    const DEBOUNCE_MS = 400;
    let config = null;
    // Every type's fields, from the engine's table that the page carries.
    let typedFields = [];
    const timers = new WeakMap();
    const requests = new WeakMap();

    function byName(row, name) {
        return row.querySelector('[name="' + row.id + "-" + name + '"]');
    }

    function isScheduleRow(row) {
        return row && row.id.startsWith("schedules-") && !row.id.endsWith("-empty") && byName(row, "type");
    }

    function showFields(row) {
        const type = byName(row, "type").value;
        const wanted = config.fields[type] || [];
        for (const name of typedFields) {
            const box = row.querySelector(".form-row.field-" + name);
            if (box) {
                box.classList.toggle("jobs-hidden", !wanted.includes(name));
            }
        }
        const zoneBox = row.querySelector(".form-row.field-timezone");
        if (zoneBox) {
            zoneBox.classList.toggle("jobs-hidden", type === "manual");
        }
    }

    function scheduleText(row) {
        const raw = byName(row, "raw");
        if (raw && raw.value.trim()) {
            return raw.value.trim();
        }
        const type = byName(row, "type").value;
        const doc = {type: type};
        for (const name of [...(config.fields[type] || []), "timezone"]) {
            if (name === "weekdays") {
                const boxes = row.querySelectorAll('[name="' + row.id + '-weekdays"]:checked');
                const days = Array.from(boxes, (box) => box.value);
                if (days.length) {
                    doc.weekdays = days;
                }
                continue;
            }
            const input = byName(row, name);
            const value = input ? input.value.trim() : "";
            if (value) {
                doc[name] = value;
            }
        }
        return JSON.stringify(doc);
    }

    function previewBox(row) {
        return row.querySelector(".field-preview .jobs-preview");
    }

    function render(row, data) {
        const box = previewBox(row);
        if (!box) {
            return;
        }
        box.replaceChildren();
        if (data.error) {
            const p = document.createElement("p");
            p.className = "jobs-error";
            p.textContent = data.error;
            box.append(p);
            return;
        }
        if (!data.fire_times.length) {
            const p = document.createElement("p");
            p.className = "jobs-preview-note";
            p.textContent = "Only runs when triggered.";
            box.append(p);
            return;
        }
        const list = document.createElement("ol");
        list.className = "jobs-fire-times";
        for (const fire of data.fire_times) {
            const item = document.createElement("li");
            item.textContent = fire.text;
            if (fire.moved_from) {
                item.className = "jobs-moved";
            }
            list.append(item);
        }
        box.append(list);
    }

    function preview(row) {
        const form = row.closest("form");
        const token = form.querySelector('[name="csrfmiddlewaretoken"]').value;
        const zone = document.getElementById("id_timezone");
        const body = new URLSearchParams({
            schedule: scheduleText(row),
            timezone: zone ? zone.value.trim() : "",
        });
        // Only the latest answer for a row is shown, whatever order they arrive in.
        const serial = (requests.get(row) || 0) + 1;
        requests.set(row, serial);
        fetch(config.previewUrl, {
            method: "POST",
            body: body,
            credentials: "same-origin",
            headers: {"X-CSRFToken": token},
        })
            .then((response) => response.json())
            .then((data) => {
                if (requests.get(row) === serial) {
                    render(row, data);
                }
            })
            .catch(() => {
                if (requests.get(row) === serial) {
                    render(row, {error: "Preview unavailable."});
                }
            });
    }

    function previewSoon(row) {
        clearTimeout(timers.get(row));
        timers.set(row, setTimeout(() => preview(row), DEBOUNCE_MS));
    }

    function allRows() {
        return Array.from(document.querySelectorAll("#schedules-group .inline-related")).filter(isScheduleRow);
    }

    function onEdit(event) {
        if (event.target.id === "id_timezone") {
            allRows().forEach(previewSoon);
            return;
        }
        const row = event.target.closest(".inline-related");
        if (!isScheduleRow(row)) {
            return;
        }
        if (event.target.name === row.id + "-type") {
            showFields(row);
        }
        previewSoon(row);
    }

    function init() {
        const node = document.getElementById("jobs-schedule-config");
        if (!node) {
            return;
        }
        config = JSON.parse(node.textContent);
        typedFields = [...new Set(Object.values(config.fields).flat())];
        allRows().forEach(showFields);
        document.addEventListener("change", onEdit);
        document.addEventListener("input", onEdit);
        document.addEventListener("formset:added", (event) => {
            const row = event.target.closest(".inline-related");
            if (isScheduleRow(row)) {
                showFields(row);
                previewSoon(row);
            }
        });
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", init);
    } else {
        init();
    }
})();
