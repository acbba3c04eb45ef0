"""Pilot tests: every user flow of the viewer, asserting on state and on the screen."""

from __future__ import annotations

import json

from kubespan.tui.format import STATUS_ERROR
from kubespan.tui.help_screen import help_sections
from tests.tui import data
from tests.tui.helpers import listed, open_trace, ready, screen_text, searched, wait_for

SIZE = (120, 36)


async def test_trace_list_newest_first(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        assert app.trace_list.row_count() == 12
        assert listed(app.trace_list)[0] == data.trace_id(11)
        text = screen_text(app)
        assert "syncPod" in text and "KubernetesAPI" in text and "containerd, kubelet" in text
        assert "gRPC 127.0.0.1:4317" in text and "stored 66" in text and "following" in text


async def test_filter_apply_error_revert_history(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("slash")
        assert app.focused is app.filter_bar.input
        await pilot.press(*"k8s.pod=default/web-0", "enter")
        await wait_for(pilot, lambda: app.trace_list.row_count() == 2, what="filtered list")
        assert app.search.text == "k8s.pod=default/web-0"
        assert app.focused is app.trace_list
        assert "2 traces" in screen_text(app)
        # a syntax error is shown inline with its column, the filter stays as it was
        await pilot.press("slash", "ctrl+u", *"{ name", "enter")
        await pilot.pause()
        assert app.filter_bar.has_class("-error")
        text = screen_text(app)
        assert "✗" in text and "(column " in text and "{ name" in text and "^" in text
        assert app.search.text == "k8s.pod=default/web-0"
        # Escape reverts the text and the error
        await pilot.press("escape")
        assert app.filter_bar.input.value == "k8s.pod=default/web-0"
        assert not app.filter_bar.has_class("-error")
        # history: up brings back older filters
        await pilot.press("slash", "ctrl+u", *"syncPod", "enter")
        await wait_for(pilot, lambda: app.search.text == "syncPod")
        await pilot.press("slash", "up")
        assert app.filter_bar.input.value == "syncPod"
        await pilot.press("up")
        assert app.filter_bar.input.value == "k8s.pod=default/web-0"
        await pilot.press("down", "down")
        assert app.filter_bar.input.value == "syncPod"


async def test_filter_applies_to_spans_arriving_later(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.filter_bar.apply("k8s.pod=default/new-pod")
        await wait_for(pilot, lambda: app.search.text == "k8s.pod=default/new-pod" and searched(app.trace_list, app))
        assert app.trace_list.row_count() == 0
        for raw in data.sync_pod_trace(50, "default/new-pod"):
            app.pipeline.export_traces(raw)
        await wait_for(pilot, lambda: app.trace_list.row_count() == 1, what="late trace")
        assert listed(app.trace_list) == [data.trace_id(50)]


async def test_open_trace_waterfall_and_detail(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.trace_list.move_cursor(listed(app.trace_list).index(data.trace_id(2)))
        await pilot.press("enter")
        assert app.view == "trace" and app.focused is app.waterfall
        assert [line.depth for line in app.waterfall.lines] == [0, 1, 2, 1, 2, 1, 2]
        text = screen_text(app)
        assert "Trace " + data.trace_id(2).hex() in text and "3 errors" in text
        assert "! kubelet runtime.v1.ImageService/PullImage" in text
        assert "name         syncPod" in text and "CreateContainerError" in text
        await pilot.press("down")
        assert app.detail.ordinal == app.waterfall.selected_row.ordinal
        assert "name         runtime.v1.RuntimeService/RunPodSandbox" in screen_text(app)
        # fold the root, unfold it
        await pilot.press("home", "left")
        assert len(app.waterfall.lines) == 1 and "(+3)" in screen_text(app)
        await pilot.press("right")
        assert len(app.waterfall.lines) == 7
        # Enter focuses the detail, Escape goes back up
        await pilot.press("enter")
        assert app.focused is app.detail
        await pilot.press("escape")
        assert app.focused is app.waterfall
        await pilot.press("escape")
        assert app.view == "traces" and app.focused is app.trace_list


async def test_detail_shows_everything(app_factory):
    app = app_factory()
    async with app.run_test(size=(120, 80)) as pilot:
        await ready(pilot, app)
        await open_trace(pilot, app, data.trace_id(2))
        await pilot.pause()
        labels = [line.item.label for line in app.detail.lines if line.item]
        for label in ("name", "service", "trace id", "span id", "parent id", "kind", "status", "start", "end",
                      "duration", "k8s.pod", "service.name", "host.name", "scope name", "scope version"):
            assert label in labels, label
        text = screen_text(app)
        assert "── Attributes (2)" in text and "── Resource (2)" in text
        assert "── Scope k8s.io/kubernetes/pkg/kubelet 1.27.1" in text
        assert "error: CreateContainerError" in text
        assert "k8s.io/kubernetes/pkg/kubelet" in text and "1.27.1" in text


async def test_pause_keeps_list_still(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("p")
        assert app.paused and "PAUSED" in screen_text(app)
        for raw in data.sync_pod_trace(60, "default/web-0"):
            app.pipeline.export_traces(raw)
        await wait_for(pilot, lambda: app.feed == app.source.store.version, what="poll")
        assert app.trace_list.row_count() == 12
        await pilot.press("p")
        assert not app.paused
        await wait_for(pilot, lambda: app.trace_list.row_count() == 13, what="resume")
        assert "following" in screen_text(app)


async def test_copy_ids_and_values(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("y")
        assert app.clipboard == data.trace_id(11).hex()
        app.trace_list.move_cursor(listed(app.trace_list).index(data.trace_id(1)))
        await pilot.press("enter", "y")
        assert app.clipboard == app.waterfall.selected_row.span_id.hex()
        await pilot.press("enter")  # focus the detail
        app.detail.move_cursor([line.item.label if line.item else "" for line in app.detail.lines].index("k8s.pod"))
        await pilot.press("y")
        assert app.clipboard == "kube-system/coredns-59b4f5bbd5-x8k2p"


async def test_add_attribute_to_filter(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await open_trace(pilot, app, data.trace_id(2))
        await pilot.press("enter")
        app.detail.move_cursor([line.item.label if line.item else "" for line in app.detail.lines].index("k8s.pod"))
        await pilot.press("f")
        assert app.search.text == 'k8s.pod="default/web-0"'
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: app.trace_list.row_count() == 2 and searched(app.trace_list, app))


async def test_error_jump(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("e")
        summary = app.source.store.trace_summary(app.trace_list.selected_trace)
        assert summary.error_count > 0
        await pilot.press("enter", "e")
        assert app.waterfall.selected_row.status == STATUS_ERROR
        first = app.waterfall.cursor
        await pilot.press("e")
        assert app.waterfall.cursor != first and app.waterfall.selected_row.status == STATUS_ERROR
        await app.run_action("previous_error")  # what the palette's "Previous error" runs
        await pilot.pause()
        assert app.waterfall.cursor == first
        await pilot.press("escape", "t")
        await wait_for(pilot, lambda: app.span_list.row_count() == 66)
        await pilot.press("e")
        assert app.span_list.selected_row.status == STATUS_ERROR


async def test_toggle_span_list(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("t")
        assert app.view == "spans"
        await wait_for(pilot, lambda: app.span_list.row_count() == 66)
        await wait_for(pilot, lambda: "66 spans" in screen_text(app), what="span list on screen")
        text = screen_text(app)
        assert "KIND" in text and "k8s.pod=" in text and "66 spans" in text
        await pilot.press("down", "enter")
        assert app.view == "trace"
        await wait_for(pilot, lambda: app.view == "trace", what="trace view")
        assert app.waterfall.selected_row.ordinal == app.span_list.selected_row.ordinal
        await pilot.press("escape")
        assert app.view == "spans"
        await pilot.press("t")
        assert app.view == "traces"


async def test_save_trace_as_otlp_json(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("s")
        path = tmp_path / f"kubespan-trace-{data.trace_id(11).hex()}.jsonl"
        await wait_for(pilot, path.exists)
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    spans = [json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0] for line in lines]
    assert {span["traceId"] for span in spans} == {data.trace_id(11).hex()}


async def test_open_file_loads_with_progress(app_factory, tmp_path):
    from kubespan.dumps import load_dumps, save_trace
    from tests.tui.conftest import make_store

    source, _, _ = make_store(data.cluster())
    dump = tmp_path / "dump.jsonl"
    for n in (2, 4):
        path, _ = save_trace(source, data.trace_id(n), tmp_path)
        with dump.open("a") as out:
            out.write(path.read_text())
    with dump.open("a") as out:
        out.write('{"resourceSpans": [')  # torn last line
    store, pipeline, counters = make_store([])
    progress_seen = []

    def loader(progress):
        def report(**kwargs):
            progress_seen.append(kwargs)
            progress(**kwargs)
        load_dumps([str(dump)], pipeline, report, batch_lines=3)

    app = app_factory(store=store, pipeline=pipeline, counters=counters, loader=loader, label=str(dump))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.trace_list.row_count() == 2, what="loaded traces")
        await wait_for(pilot, lambda: any(p.get("finished") for p in progress_seen))
        final = [p for p in progress_seen if p.get("finished")][0]
        assert final["spans"] == 14 and not final["error"]
        assert final["warnings"] == [f"skipped 1 of 15 lines in {dump}: line 15: torn last line (no newline: its "
                                     "writer was still running, or killed): invalid JSON: Expecting value "
                                     "(line 1 column 20)"]
        assert any(not p.get("finished") for p in progress_seen)  # progress was reported while loading
        assert "dump.jsonl" in screen_text(app)


async def test_pod_view_lists_and_opens_pods(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.press("P")
        assert app.view == "pods"
        await wait_for(pilot, lambda: len(app.pod_list.pods) == 3, what="pods")
        text = screen_text(app)
        assert "echo-command" in text and "coredns-59b4f5bbd5-x8k2p" in text and "kube-system" in text
        web = app.pod_list.index_of("default/web-0")
        assert app.pod_list.rows[web].errors == 3  # syncPod, and the kubelet's and containerd's PullImage
        app.pod_list.move_cursor(web)
        await pilot.press("enter")
        assert app.view == "traces" and app.search.text == '"web-0"'
        await wait_for(pilot, lambda: app.trace_list.row_count() == 3 and searched(app.trace_list, app))
        services = {s for t in listed(app.trace_list) for s in app.source.store.trace_summary(t).services}
        assert services == {"kubelet", "containerd", "apiserver"}
        await pilot.press("3")
        assert app.view == "pods"
        await pilot.press("escape")
        assert app.view == "traces"


async def test_help_lists_every_action(app_factory):
    app = app_factory()
    async with app.run_test(size=(120, 72)) as pilot:
        await ready(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        for words in ("Filter", "Traces/spans", "Pods", "Pause", "Copy", "Add to filter", "Save trace",
                      "Next error", "Fold", "Full value", "Revert", "Quit"):
            assert words in text, words
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


async def test_command_palette_has_actions(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Filter", "Toggle traces/spans", "Pods", "Pause/resume", "Copy", "Add to filter",
                      "Save trace", "Next error", "Help", "Screenshot", "Theme"):
            assert title in titles, title


async def test_empty_states_say_what_to_do(app_factory):
    app = app_factory([])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        assert "Waiting for traces: send OTLP traces to gRPC 127.0.0.1:4317 and HTTP 127.0.0.1:4318" in screen_text(app)
        for raw in data.sync_pod_trace(1, "default/web-0"):
            app.pipeline.export_traces(raw)
        await wait_for(pilot, lambda: app.trace_list.row_count() == 1, what="first trace")
        app.filter_bar.apply("service=nothing-like-this")
        await wait_for(pilot, lambda: app.trace_list.row_count() == 0 and searched(app.trace_list, app))
        await pilot.pause()
        assert "No traces match the filter" in screen_text(app)


async def test_mouse_click_selects_and_double_click_opens(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await pilot.click("#traces", offset=(5, 3))  # header is row 0: row 3 is the third trace
        assert app.trace_list.cursor == 2
        await pilot.click("#traces", offset=(5, 3), times=2)
        assert app.view == "trace"
        assert app.waterfall.trace_id == listed(app.trace_list)[2]
        await pilot.click("#waterfall", offset=(5, 2))
        assert app.waterfall.cursor == 1
        assert app.detail.ordinal == app.waterfall.selected_row.ordinal


async def test_theme_change_repaints(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.theme = "textual-light"
        await pilot.pause()
        assert "syncPod" in screen_text(app)
        path = app.save_screenshot(path=str(tmp_path), filename="shot.svg")
        assert path.endswith("shot.svg") and "syncPod" in open(path).read()


async def test_error_jump_finds_a_far_error_trace_through_the_store(app_factory):
    requests = []
    for t in range(120):
        requests += data.sync_pod_trace(t, "default/web-0", error=(t == 0))
    app = app_factory(requests)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        assert app.trace_list.row_count() == 120
        await pilot.press("e")
        await wait_for(pilot, lambda: app.trace_list.selected_trace == data.trace_id(0), what="far error trace")
        await pilot.press("e")
        await wait_for(pilot, lambda: len(app._notifications) > 0, what="no more errors notice")
        assert app.trace_list.selected_trace == data.trace_id(0)


async def test_events_marked_on_bars_and_listed_in_detail(app_factory):
    span = data.make_span(1, 0, "with events", start=0, dur=100)
    for offset in (10, 50, 90):
        event = span.events.add(name=f"log at {offset}ms", time_unix_nano=span.start_time_unix_nano + offset * data.MS)
        event.attributes.append(data.kv("level", "info"))
    link = span.links.add(trace_id=data.trace_id(9), span_id=data.span_id(9, 1))
    link.attributes.append(data.kv("reason", "follows"))
    app = app_factory([data.request("containerd", [span])])
    async with app.run_test(size=(120, 60)) as pilot:
        await ready(pilot, app)
        await pilot.press("enter")
        assert app.waterfall.render_line(1).text.count("◆") == 3
        text = "\n".join(line.text.plain for line in app.detail.lines)
        assert "── Events (3)" in text and "+10.0ms" in text and "log at 50ms" in text and "level" in text
        assert "── Links (1)" in text and data.trace_id(9).hex() in text and "reason" in text


async def test_applied_filter_does_not_shadow_dom_query(app_factory):
    """The app keeps its compiled filter as `filter_query`; Textual's `query()` still works."""
    from kubespan.tui.trace_list import TraceList

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        app.filter_bar.apply("k8s.pod=default/web-0")
        await wait_for(pilot, lambda: app.trace_list.row_count() == 2, what="filtered list")
        assert app.search.query is not None
        assert len(app.query(TraceList)) == 1


async def test_save_trace_never_overwrites_and_says_where(app_factory, tmp_path):
    from textual.widgets._toast import Toast

    existing = tmp_path / f"kubespan-trace-{data.trace_id(11).hex()}.jsonl"
    existing.write_text("keep me\n")
    app = app_factory()
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await ready(pilot, app)
        await pilot.press("s")
        second = tmp_path / f"kubespan-trace-{data.trace_id(11).hex()}-2.jsonl"
        await wait_for(pilot, second.exists)
        await wait_for(pilot, lambda: any(str(second.resolve()) in str(t.render()) for t in app.screen.query(Toast)),
                       what="saved toast with the path")
        await pilot.press("s")
        await wait_for(pilot, (tmp_path / f"kubespan-trace-{data.trace_id(11).hex()}-3.jsonl").exists)
    assert existing.read_text() == "keep me\n"
    assert len(second.read_text().splitlines()) == 3


async def test_footer_tells_following_held_and_paused_apart(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        footer = lambda: screen_text(app).splitlines()[-4:]  # noqa: E731
        assert "● following" in "".join(footer())
        await pilot.press("down")
        await wait_for(pilot, lambda: "○ held: g follows" in "".join(footer()), what="held")
        assert "following " not in "".join(footer()).replace("g follows", "")
        for raw in data.sync_pod_trace(60, "default/web-0"):
            app.pipeline.export_traces(raw)
        await wait_for(pilot, lambda: app.feed == app.source.store.version, what="poll")
        assert app.trace_list.row_count() == 12
        await pilot.press("g")
        await wait_for(pilot, lambda: app.trace_list.row_count() == 13, what="catch up at the top")
        await wait_for(pilot, lambda: "● following" in "".join(footer()), what="following again")
        await pilot.press("p")
        assert "⏸ PAUSED" in "".join(footer())
        assert "held" not in "".join(footer()) and "following" not in "".join(footer())
        await pilot.press("p")
        assert "● following" in "".join(footer())


async def palette_titles(pilot, app, search: str = "") -> list[str]:
    from textual.command import CommandList, CommandPalette

    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
    if search:
        await pilot.press(*search)
    command_list = app.screen.query_one(CommandList)
    await wait_for(pilot, lambda: command_list.option_count > 0 and not app.screen._show_busy,
                   what="palette options")
    await pilot.pause()
    return [str(command_list.get_option_at_index(i).prompt).split("\n")[0]
            for i in range(command_list.option_count)]


async def run_from_palette(pilot, app, title: str) -> None:
    from textual.command import CommandList

    await pilot.press("ctrl+p")
    await pilot.press(*title)
    command_list = app.screen.query_one("CommandList", CommandList)
    await wait_for(pilot, lambda: any(str(command_list.get_option_at_index(i).prompt).split("\n")[0] == title
                                      for i in range(command_list.option_count)), what=f"palette {title}")
    index = next(i for i in range(command_list.option_count)
                 if str(command_list.get_option_at_index(i).prompt).split("\n")[0] == title)
    command_list.highlighted = index
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen is app.screen_stack[0], what="palette closed")
    await pilot.pause()


async def test_command_palette_lists_every_action_of_the_help_screen(app_factory):
    from kubespan.tui import commands

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        covered = {action for _, _, action in commands.PALETTE} | {"quit"}  # Quit comes from Textual
        for section, bindings in help_sections(app.BINDINGS):
            for binding in bindings:
                assert binding.action in covered, (section, binding.key, binding.action)
        shown = await palette_titles(pilot, app)
        for title, _, _ in commands.PALETTE:
            assert title in shown, title
        for title in ("Quit", "Theme", "Screenshot"):
            assert title in shown, title
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.screen_stack[0], what="palette closed")


async def test_palette_commands_act_on_the_shown_pane(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app)
        await run_from_palette(pilot, app, "Last row")
        assert app.trace_list.cursor == app.trace_list.row_count() - 1
        await run_from_palette(pilot, app, "First row")
        assert app.trace_list.cursor == 0
        await run_from_palette(pilot, app, "Fold")
        assert app.view == "traces"
        assert any("Open a trace first" in note.message for note in app._notifications)
        await run_from_palette(pilot, app, "Open")
        assert app.view == "trace"
        rows = len(app.waterfall.lines)
        await run_from_palette(pilot, app, "Fold")
        assert len(app.waterfall.lines) < rows
        await run_from_palette(pilot, app, "Unfold")
        assert len(app.waterfall.lines) == rows
        await run_from_palette(pilot, app, "Back")
        assert app.view == "traces"
        await run_from_palette(pilot, app, "Spans")
        assert app.view == "spans"
