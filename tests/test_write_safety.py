"""The writer under hostile conditions (issue 13, cases 2, 7, 8, 9, 10): links out, files in the
way, immutable directories, SIGKILL at any moment, concurrent runs, leftovers of dead runs.

Runs that must die are forked from this process after fedfleet is imported (no interpreter start-up
per trial) and killed with SIGKILL; they are this test's own children, waited for by pid.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fedfleet import pipeline, write
from fedfleet.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import write_fleet  # noqa: E402

ROOTS = ("bases", "overlays", "bootstrap")


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (content) and directory (None) under the output roots and the staging area."""
    out: dict[str, bytes | None] = {}
    for top in (*ROOTS, write.STAGING):
        base = root / top
        if not os.path.lexists(base):
            continue
        out[top] = None
        for dirpath, dirs, files in os.walk(base):
            for d in dirs:
                out[(Path(dirpath) / d).relative_to(root).as_posix()] = None
            for f in files:
                p = Path(dirpath) / f
                out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def without_staging(t: dict[str, bytes | None]) -> dict[str, bytes | None]:
    return {k: v for k, v in t.items() if not k.startswith(write.STAGING)}


def fork(fn, *args) -> int:  # type: ignore[no-untyped-def]
    """Run fn(*args) in a forked child that exits with its return value; returns the pid."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 3
        try:
            sys.stdout = sys.stderr = open(os.devnull, "w")
            code = int(fn(*args) or 0)
        finally:
            os._exit(code)
    return pid


def reap(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def nothing_written(root: Path) -> bool:
    return not any((root / d).exists() for d in ROOTS)


# --- case 9: SIGKILL at random moments --------------------------------------------------------

@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_the_old_or_the_new_tree(tmp_path: Path) -> None:
    """>= 50 kills of the write stage of generate at random delays, plus kills of whole generate
    runs and of runs that are finishing a dead run's journal. After each kill the tree is the old
    one, or a committed journal is waiting; after recovery (what the next run does first) it is
    exactly the old or the new tree, with nothing left over."""
    root = tmp_path
    t0 = time.monotonic()
    spec_a = write_fleet(root / "a", clusters=600, jobs=100, hubs=4, seed=7)
    spec_b = write_fleet(root / "b", clusters=600, jobs=80, hubs=3, seed=8)
    files = {"a": pipeline.render(pipeline.Paths(spec_a, root)).files,
             "b": pipeline.render(pipeline.Paths(spec_b, root)).files}
    # hand-written files: one beside generated ones, one in an overlay the new fleet no longer has
    out = root / "out"
    (out / "overlays/hub-0").mkdir(parents=True)
    (out / "overlays/hub-0/README.md").write_text("kept by the platform team\n")
    (out / "overlays/hub-3").mkdir(parents=True)
    (out / "overlays/hub-3/NOTES.md").write_text("also kept\n")
    expected: dict[str, dict[str, bytes | None]] = {}
    durations: dict[str, float] = {}
    for name in ("b", "a"):  # end on a: the trials start from the complete old tree
        started = time.monotonic()
        write.write(files[name], out)
        durations[name] = time.monotonic() - started
        expected[name] = tree(out)
    assert expected["a"] != expected["b"] and len(files["a"]) > 100
    rendered = time.monotonic()

    state = "a"
    seen = {"old": 0, "committed": 0, "new": 0}
    rnd = random.Random(13)
    kills = 0

    def settle(target: str) -> str:
        """Check the tree a kill left, recover it as the next run would, and say which it is."""
        left = tree(out)
        committed = os.path.exists(out / write.STAGING / write.JOURNAL)
        if committed:
            seen["committed"] += 1
        else:
            assert without_staging(left) in (expected[state], expected[target]), "mixed tree without a journal"
        write.recover(out)
        now = tree(out)
        assert not os.path.lexists(out / write.STAGING), "recovery leaves no staging area"
        if now == expected[target]:
            return target
        assert now == expected[state], "after recovery the tree is the old or the new one, never mixed"
        return state

    for trial in range(60):
        target = "b" if state == "a" else "a"
        pid = fork(write.write, files[target], out)
        if trial % 2 == 0:  # anywhere in the run
            time.sleep(rnd.uniform(0, durations[target] * 1.2))
        else:  # right after the commit point, somewhere in applying the journal
            journal = out / write.STAGING / write.JOURNAL
            deadline = time.monotonic() + 30
            while not journal.exists() and time.monotonic() < deadline:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    break
                time.sleep(0.0005)
            time.sleep(rnd.uniform(0, durations[target] * 0.2))
        os.kill(pid, signal.SIGKILL)
        code = reap(pid)
        kills += code == -signal.SIGKILL
        if os.path.exists(out / write.STAGING / write.JOURNAL) and trial % 4 == 1:
            # the next run is killed too, while it rolls the journal forward
            pid = fork(write.write, files[target], out)
            time.sleep(rnd.uniform(0, durations[target] * 0.1))
            os.kill(pid, signal.SIGKILL)
            kills += reap(pid) == -signal.SIGKILL
        before = state
        state = settle(target)
        seen["new" if state != before else "old"] += 1

    # whole `fedfleet generate` runs (load, render, write), killed anywhere
    for _ in range(3):
        target = "b" if state == "a" else "a"
        specs = spec_b if target == "b" else spec_a
        started = time.monotonic()
        pid = fork(main, ["generate", "--specs", str(specs), "--out", str(out)])
        time.sleep(rnd.uniform(0, 4.0))
        os.kill(pid, signal.SIGKILL)
        kills += reap(pid) == -signal.SIGKILL
        state = settle(target)
        assert time.monotonic() - started < 120

    print(f"renders {rendered - t0:.1f} s, trials {time.monotonic() - rendered:.1f} s")
    assert kills >= 50, f"only {kills} runs were killed before they finished"
    assert seen["old"] and seen["new"] and seen["committed"], seen
    # the next complete run ends in the new tree with nothing left over
    assert main(["generate", "--specs", str(spec_b), "--out", str(out)]) == 0
    assert tree(out) == expected["b"]
    print(f"{kills} kills: {seen}")


# --- case 10: concurrent runs -----------------------------------------------------------------

def test_concurrent_runs_wait_for_each_other(fleet_repo: Path) -> None:
    pids = [fork(main, ["generate"]) for _ in range(4)]
    assert [reap(pid) for pid in pids] == [0, 0, 0, 0]
    reference = tree(fleet_repo)
    shutil.rmtree(fleet_repo / "overlays")
    assert main(["generate"]) == 0
    assert tree(fleet_repo) == reference and not os.path.lexists(fleet_repo / write.STAGING)


def test_a_live_run_is_waited_for_and_its_staging_area_never_touched(fleet_repo: Path, run, monkeypatch) -> None:
    assert run("generate").code == 0
    staging = fleet_repo / write.STAGING
    staging.mkdir()
    (staging / "000000").write_bytes(b"a live run's file")
    monkeypatch.setattr(write, "LOCK_WAIT_SECONDS", 0.3)
    fd = os.open(fleet_repo, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the live run holds the lock
        result = run("generate")
        assert result.code == 2 and "another fedfleet run is writing this bundle; waited 0.3 s" in result.err
        assert (staging / "000000").read_bytes() == b"a live run's file"
        assert run("generate", "--check").code == 2  # --check waits too: it never reads a tree mid-write
    finally:
        os.close(fd)
    # once that run is dead, its staging area (no journal: not committed) is removed by the next run
    result = run("generate", "--check")
    assert result.code == 1 and "interrupted: a generate run died" in result.err
    assert run("generate").code == 0 and not staging.exists()


# --- stale temp files of dead runs ------------------------------------------------------------

def test_temp_files_of_the_old_writer_are_cleaned_only_when_they_are_fedfleets(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    jobs = fleet_repo / "overlays/hub-prod/jobs"
    empty = jobs / ".mnist-eu.yaml.k2j4h1x9.tmp"  # what a SIGKILLed old writer left (0 bytes, 0600)
    empty.write_bytes(b"")
    empty.chmod(0o600)
    partial = jobs / ".mnist-eu.yaml.a8d7f6e5.tmp"
    partial.write_bytes(write.HEADER.encode()[:20])
    mine = jobs / ".notes.abcdefgh.tmp"  # the user's, not fedfleet's
    mine.write_text("my editor's swap file\n")
    assert run("generate").code == 0
    assert not empty.exists() and not partial.exists() and mine.exists()


# --- case 2: an output root that is a symlink out of the repository ------------------------------

def test_output_root_symlinked_out_of_the_repository_is_refused(fleet_repo: Path, run, tmp_path_factory) -> None:
    assert run("generate").code == 0
    outside = tmp_path_factory.mktemp("outside")
    shutil.copytree(fleet_repo / "overlays", outside / "overlays")
    stale = outside / "overlays/hub-prod/jobs/old-job.yaml"
    stale.write_text(write.HEADER + "kind: ConfigMap\n")  # would be pruned through the link
    before = tree(outside)
    shutil.rmtree(fleet_repo / "overlays")
    (fleet_repo / "overlays").symlink_to(outside / "overlays", target_is_directory=True)
    job = fleet_repo / "specs/jobs/mnist-eu.yaml"
    job.write_text(job.read_text().replace("rounds: 5", "rounds: 6"))
    result = run("generate")
    assert result.code == 2 and "Traceback" not in result.err
    assert f"overlays: error: write: a symlink (to {outside}/overlays) where fedfleet writes a directory" in result.err
    assert tree(outside) == before, "nothing written or deleted outside the repository"
    check = run("generate", "--check")  # nor read through the link to report drift
    assert check.code == 2 and "overlays: error: write: a symlink" in check.err


# --- case 7: a file where a directory belongs -----------------------------------------------------

def test_a_file_in_place_of_an_output_directory_is_bad_input(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    jobs = fleet_repo / "overlays/hub-dev/jobs"
    shutil.rmtree(jobs)
    jobs.write_text("a file now\n")
    before = tree(fleet_repo)
    result = run("generate")
    assert result.code == 2 and "Traceback" not in result.err
    assert "overlays/hub-dev/jobs: error: write: a file where fedfleet writes a directory" in result.err
    assert tree(fleet_repo) == before


# --- case 8: an immutable output directory ------------------------------------------------------

def test_an_immutable_output_directory_is_bad_input(fleet_repo: Path, run) -> None:
    if not shutil.which("chattr"):
        pytest.skip("chattr is not installed")
    assert run("generate").code == 0
    job = fleet_repo / "specs/jobs/digits-dev.yaml"
    job.write_text(job.read_text().replace("rounds: 3", "rounds: 4"))
    target = fleet_repo / "overlays/hub-dev/jobs"
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        pytest.skip("this filesystem or user cannot set the immutable attribute")
    try:
        before = tree(fleet_repo)
        result = run("generate")
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    assert result.code == 2 and "Traceback" not in result.err and str(fleet_repo) not in result.err
    assert "overlays/hub-dev/jobs: error: write: cannot write in this directory: not writable" in result.err
    assert tree(fleet_repo) == before
    assert run("generate").code == 0  # writable again: the run completes


def test_output_root_that_is_a_file_is_bad_input(tmp_path: Path, run, fleet_repo: Path) -> None:
    (fleet_repo / "out").write_text("x")
    result = run("generate", "--out", "out")
    assert result.code == 2 and "out: error: write: the output root is not a directory" in result.err
