"""Thread workers of the kubespan TUI: pod statistics and file loading, with their
results and progress posted back as messages, and worker errors shown as notifications.

Mixed into :class:`~kubespan.tui.app.KubespanApp`, whose store and widgets it uses.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.worker import get_current_worker

from kubespan.tui import messages
from kubespan.tui.format import plural
from kubespan.tui.pod_list import collect_pods


class BackgroundWork:
    """Pod collection and file loading workers of :class:`~kubespan.tui.app.KubespanApp`."""

    def _load_pods(self) -> None:
        self._collect_pods(self.store.version)

    @work(thread=True, exclusive=True, group="pods", exit_on_error=False)
    def _collect_pods(self, version: int) -> None:
        worker = get_current_worker()
        pods = collect_pods(self.store, self.compile_query, lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self.post_message(messages.PodsFound(pods, version))

    def on_pods_found(self, message: messages.PodsFound) -> None:
        if not self._alive():
            return
        self.pod_list.set_pods(message.pods)
        if self.view == "pods":
            self.filter_bar.set_matches(plural(len(message.pods), "pod"))

    @work(thread=True, group="load", exit_on_error=False)
    def _run_loader(self) -> None:
        def progress(**report) -> None:
            self.post_message(messages.LoadProgress(**report))

        self.loader(progress)

    def on_load_progress(self, message: messages.LoadProgress) -> None:
        if not self._alive():
            return
        if message.finished:
            self.progress = ""
            detail = f"Loaded {plural(message.spans, 'span', exact=True)} from {message.path}"
            self.notify(detail if not message.error else f"{message.path}: {message.error}",
                        severity="error" if message.error else "information", timeout=4)
        else:
            share = f" {100 * message.done // message.total}%" if message.total else ""
            self.progress = f"loading {Path(message.path).name}{share} ({plural(message.spans, 'span')})"
        for warning in message.warnings:
            self.notify(str(warning), severity="warning", timeout=6)
        self._update_status()

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        if event.state == WorkerState.ERROR:
            self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", timeout=8)
