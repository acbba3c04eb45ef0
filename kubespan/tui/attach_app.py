"""The viewer as `kubespan attach` runs it: `KubespanApp` over a `RemoteSource`, telling the source about
each key, so that its poller does not read a poll's answer (tens of milliseconds of the interpreter lock
for 500 traces) while the frame that answers the key is drawn."""

from __future__ import annotations

from textual import events

from kubespan.tui.app import KubespanApp


class AttachApp(KubespanApp):
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)) and not event.is_forwarded:
            key_pressed = getattr(self.source, "key_pressed", None)
            if key_pressed is not None:
                key_pressed()
        await super().on_event(event)
