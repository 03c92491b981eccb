"""releaselab.reference: the book's real-cluster quotes come from the tests' reference data."""

import doctest

from releaselab import reference


def test_doctests():
    result = doctest.testmod(reference)
    assert result.attempted >= 2 and result.failed == 0


def test_the_cluster_fields_agree_with_the_recorded_source_line():
    data = reference.load()
    c = data["cluster"]
    # The free-text source line was copied from the shared README: the fields must say the same.
    for fact in (c["kubernetes"], f"kube-proxy in {c['kube_proxy_mode']} mode", "one node"):
        assert fact in data["source"]
    assert reference.failed_of("endpoint-race") == "3 / 466 and 1 / 483"
    assert "timeout" in reference.row("endpoint-race")["causes"]
