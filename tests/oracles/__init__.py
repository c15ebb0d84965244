"""Tests against upstream Go code (the oracles); see the README section "Upstream code as the test oracle"."""
