"""`f` adds key=value to the filter in the filter's own syntax."""

from __future__ import annotations

from kubespan.tui.filter_terms import combine_filter


def test_shorthand_terms_are_quoted_and_anded():
    assert combine_filter("", "k8s.pod", "default/echo") == 'k8s.pod="default/echo"'
    assert combine_filter("service=kubelet", "http.status_code", 200) == 'service=kubelet http.status_code="200"'
    assert combine_filter("", "msg", 'say "hi" \\o/') == 'msg="say \\"hi\\" \\\\o/"'
    assert combine_filter("", "weird key", "v") == '"weird key"="v"'
    assert combine_filter("", "name", "syncPod") == 'name="syncPod"'


def test_traceql_terms_are_typed_and_merged_into_one_spanset():
    assert combine_filter("{ name = \"syncPod\" }", "k8s.pod", "default/echo", scope="span") == \
        '{ name = "syncPod" && span.k8s.pod = "default/echo" }'
    assert combine_filter("{ }", "http.status_code", 500, scope="span") == "{ span.http.status_code = 500 }"
    assert combine_filter("{ .a = \"}\" }", "flag", True, scope="resource") == \
        '{ .a = "}" && resource.flag = true }'
    assert combine_filter("{ .a = 1 } && { .b = 2 }", "c", "x") == '{ .a = 1 } && { .b = 2 } && { .c = "x" }'
    assert combine_filter("{ .a = 1 }", "service", "kubelet") == '{ .a = 1 && resource.service.name = "kubelet" }'
    assert combine_filter("{ .a = 1 }", "kind", "client") == "{ .a = 1 && kind = client }"
