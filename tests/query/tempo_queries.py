"""Queries whose answers a real Tempo gave on `tempo_fixture` (tests/golden/query/tempo_search.json).

Our own queries, written for the fixture: regex matching first (anchoring, flags, newlines,
values that are not strings), then the rest of TraceQL search.
"""

from __future__ import annotations

REGEX = [
    '{ name =~ "sync" }',
    '{ name =~ "sync.*" }',
    '{ name =~ "(?i)sync.*" }',
    '{ name =~ "^syncPod$" }',
    '{ name =~ ".*Pod" }',
    '{ name =~ "syncPod|SyncPod|consume" }',
    '{ name =~ "multi.line name" }',
    '{ name =~ "multi" }',
    '{ name =~ "(?-s)multi.line name" }',
    '{ name =~ "runtime\\\\.v1\\\\..*" }',
    '{ name !~ ".*Sandbox" }',
    '{ span.note =~ "multi.line" }',
    '{ span:statusMessage =~ "pull failed:.*" }',
    '{ span:statusMessage =~ ".*unknown" }',
    '{ span.net.peer.port =~ "54678" }',
    '{ span.net.peer.port =~ "5467." }',
    '{ span.net.peer.port !~ "5467." }',
    '{ span.flag =~ "true" }',
    '{ span.tags =~ "can.*" }',
    '{ span.tags !~ "can.*" }',
    '{ span.tags =~ "web" }',
    '{ span.missing !~ ".*" }',
    '{ span.missing =~ ".*" }',
    '{ .k8s.pod =~ "default/.*" }',
    '{ resource.service.name =~ "k.*" }',
    '{ .shared =~ "from-.*" }',
    '{ span.value =~ "nil" }',
    '{ event:name =~ "RunPodSandbox for .*Name:echo-command,.*" }',
    '{ event.level =~ "err.*" }',
    '{ name =~ "" }',
    '{ span.http.status_code =~ "2.." }',
    '{ name =~ "(a+)+$" }',
    '{ name =~ "\\\\d+" }',
    '{ name =~ "[[:upper:]].*" }',
    '{ name =~ "(?U)s.*d" }',
    '{ name =~ "(a)\\\\1" }',
    '{ name =~ "(?=x)" }',
    '{ name =~ "a{1001}" }',
    '{ name =~ "[" }',
]

QUERIES = REGEX
