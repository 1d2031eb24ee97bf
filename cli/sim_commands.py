"""`ledger sim`: run the deterministic consensus simulation over a range of seeds.

The integrator mounts ``sim`` on the main app (``ledger sim``); ``sim_app``
is a Typer app holding just this command. A failing seed is printed with
the command that replays it exactly.
"""

from __future__ import annotations

import time

import typer

from consensus.engine.simulation import BYZANTINE_MODES, FAULTS, SimConfig, run_seed

sim_app = typer.Typer(help="Deterministic simulation of Byzantine networks.")


def parse_seeds(text: str) -> range:
    """``START:END`` (END exclusive) or a single seed. Raises typer.BadParameter."""
    try:
        if ":" in text:
            start, end = (int(part) for part in text.split(":", 1))
        else:
            start = int(text)
            end = start + 1
    except ValueError as exc:
        raise typer.BadParameter("seeds are START:END or one integer") from exc
    if not 0 <= start < end:
        raise typer.BadParameter("need 0 <= START < END")
    return range(start, end)


def parse_list(text: str, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    """A comma-separated subset of ``allowed`` ("all" for everything, "none" for nothing)."""
    if text == "all":
        return allowed
    if text in ("", "none"):
        return ()
    items = tuple(item.strip() for item in text.split(","))
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise typer.BadParameter(
            f"unknown {name}: {', '.join(unknown)} (choose from {', '.join(allowed)})"
        )
    return items


def sim(
    seeds: str = typer.Option("0:100", help="Seeds to run, START:END (END exclusive)."),
    validators: int = typer.Option(4, help="Number of validators."),
    byzantine: int = typer.Option(1, help="How many of them are Byzantine (3*F < N)."),
    behaviours: str = typer.Option(
        "all", help=f"Byzantine behaviours to draw from: {','.join(BYZANTINE_MODES)}."
    ),
    faults: str = typer.Option(
        "all", help=f"Network and environment faults: {','.join(FAULTS)} (or none)."
    ),
    heights: int = typer.Option(6, help="Heights every honest node must commit."),
    verbose: bool = typer.Option(False, help="Print every event (use with one seed)."),
) -> None:
    """Run the simulation for each seed; exit 1 if any invariant is violated."""
    try:
        config = SimConfig(
            validators=validators,
            byzantine=byzantine,
            byzantine_modes=parse_list(behaviours, BYZANTINE_MODES, "behaviour"),
            faults=parse_list(faults, FAULTS, "fault"),
            heights=heights,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    seed_range = parse_seeds(seeds)
    trace = typer.echo if verbose else None
    started = time.perf_counter()
    failed: list[int] = []
    committed = 0
    longest_wait = 0
    for seed in seed_range:
        result = run_seed(seed, config, trace=trace)
        committed += result.heights
        longest_wait = max(longest_wait, result.longest_wait)
        if not result.ok:
            failed.append(seed)
            typer.echo(f"seed {seed} FAILED (byzantine: {result.byzantine})", err=True)
            for violation in result.violations:
                typer.echo(f"  {violation}", err=True)
            typer.echo(
                f"  replay: ledger sim --seeds {seed}:{seed + 1} --validators {validators} "
                f"--byzantine {byzantine} --behaviours {behaviours} --faults {faults} "
                f"--heights {heights} --verbose",
                err=True,
            )
    elapsed = time.perf_counter() - started
    typer.echo(
        f"seeds run: {len(seed_range)} ({seed_range.start}:{seed_range.stop}), "
        f"validators: {validators}, byzantine: {byzantine}, "
        f"heights committed: {committed}, violations: {len(failed)}, "
        f"longest wait for a commit after the heal: {longest_wait} ticks "
        f"(bound {config.liveness_ticks}), "
        f"time: {elapsed:.1f}s ({elapsed / len(seed_range) * 1000:.0f} ms/seed)"
    )
    if failed:
        typer.echo(f"failing seeds: {' '.join(map(str, failed))}")
        raise typer.Exit(code=1)


sim_app.command("sim")(sim)

if __name__ == "__main__":
    sim_app()
