/*
 * Live runs: while a run is queued or running, poll its small JSON view and
 * refresh the page in place (no reload): on a run's page the status, output
 * and a ticking elapsed time; on a job's page the status, duration and exit
 * code of its recent runs. Polling stops when the runs have ended, and after
 * a few failed requests in a row.
 */
"use strict";
(function () {
    const MAX_FAILURES = 5;
    const ACTIVE = new Set(["queued", "running"]);

    function formatDuration(seconds) {
        if (seconds === null || seconds === undefined) {
            return "-";
        }
        if (seconds < 10) {
            return seconds.toFixed(1) + "s";
        }
        const whole = Math.round(seconds);
        if (whole < 60) {
            return whole + "s";
        }
        const pad = (n) => String(n).padStart(2, "0");
        if (whole < 3600) {
            return Math.floor(whole / 60) + "m " + pad(whole % 60) + "s";
        }
        return Math.floor(whole / 3600) + "h " + pad(Math.floor((whole % 3600) / 60)) + "m";
    }

    function badge(run) {
        const span = document.createElement("span");
        span.className = "jobs-status jobs-status-" + run.status;
        span.textContent = run.status_label;
        return span;
    }

    function poller(url, pollMs, onData) {
        let failures = 0;
        async function tick() {
            let data;
            try {
                const response = await fetch(url, {
                    headers: {Accept: "application/json"},
                    credentials: "same-origin",
                });
                if (!response.ok) {
                    throw new Error("HTTP " + response.status);
                }
                data = await response.json();
                failures = 0;
            } catch (error) {
                failures += 1;
                if (failures >= MAX_FAILURES) {
                    return;
                }
                setTimeout(tick, pollMs);
                return;
            }
            if (onData(data)) {
                setTimeout(tick, pollMs);
            }
        }
        setTimeout(tick, pollMs);
    }

    // --- a run's page -------------------------------------------------------

    function readonlyOf(field) {
        return document.querySelector(".field-" + field + " .readonly");
    }

    function startRunPage(config) {
        const status = readonlyOf("status_badge");
        const duration = readonlyOf("duration");
        const output = document.querySelector("pre.jobs-output");
        let clock = null;
        let elapsedAt = null;

        function showElapsed(data) {
            clearInterval(clock);
            if (data.elapsed_seconds === null || !duration) {
                return;
            }
            if (data.is_finished) {
                duration.textContent = formatDuration(data.elapsed_seconds);
                return;
            }
            // Tick locally between polls, from the server's elapsed time.
            elapsedAt = {seconds: data.elapsed_seconds, at: Date.now()};
            const show = () => {
                const seconds = elapsedAt.seconds + (Date.now() - elapsedAt.at) / 1000;
                duration.textContent = formatDuration(seconds) + " (running)";
            };
            show();
            clock = setInterval(show, 250);
        }

        poller(config.url, config.pollMs, (data) => {
            if (status) {
                status.replaceChildren(badge(data));
            }
            if (output && output.textContent !== data.output) {
                const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
                output.textContent = data.output;
                if (atBottom) {
                    output.scrollTop = output.scrollHeight;
                }
            }
            showElapsed(data);
            for (const field of ["exit_code", "reason"]) {
                const cell = readonlyOf(field);
                const value = data[field];
                if (cell && value !== null && value !== "") {
                    cell.textContent = String(value);
                }
            }
            document.body.dataset.runStatus = data.status;
            return !data.is_finished;
        });
    }

    // --- a job's recent runs -----------------------------------------------

    function startRecentRuns(section) {
        const rows = () => Array.from(section.querySelectorAll("tr[data-run-id]"));
        if (!rows().some((row) => ACTIVE.has(row.dataset.status))) {
            return;
        }
        poller(section.dataset.url, 1000, (data) => {
            const byId = new Map(data.runs.map((run) => [String(run.id), run]));
            for (const row of rows()) {
                const run = byId.get(row.dataset.runId);
                if (!run) {
                    continue;
                }
                row.dataset.status = run.status;
                row.querySelector(".jobs-live-status").replaceChildren(badge(run));
                row.querySelector(".jobs-live-duration").textContent =
                    formatDuration(run.elapsed_seconds) + (run.is_finished ? "" : " (running)");
                row.querySelector(".jobs-live-exit").textContent =
                    run.exit_code === null ? "-" : String(run.exit_code);
            }
            return rows().some((row) => ACTIVE.has(row.dataset.status));
        });
    }

    document.addEventListener("DOMContentLoaded", () => {
        const config = document.getElementById("jobs-run-live");
        if (config) {
            const data = JSON.parse(config.textContent);
            if (!data.isFinished) {
                startRunPage(data);
            }
        }
        const section = document.getElementById("jobs-recent-runs");
        if (section) {
            startRecentRuns(section);
        }
    });
})();
