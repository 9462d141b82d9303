"""benchmarks/critic_ablation.py at tiny budgets: every recipe of the chain trains φ and
φ_test on its part of one pool and is measured on the same held-out programs, and the
learning benchmark renders the table into results.md's critic section."""

from __future__ import annotations

import json

from conftest import REPO_ROOT, load_script

from agents.coderl.critic import CriticConfig, CriticExample


def test_each_recipe_takes_its_part_of_the_pool():
    ablation = load_script(REPO_ROOT / "benchmarks" / "critic_ablation.py", "critic_ablation")
    chain = ablation.recipes(rl_updates=40, quick=False)
    assert chain[0].config == CriticConfig.original()
    last = next(r for r in chain if r.name == "RL actor's programs")
    assert last.config == CriticConfig()  # the chain ends at the default recipe
    # without the RL actor, one step short of it
    short = ablation.recipes(rl_updates=0, quick=False)
    assert "RL actor's programs" not in [r.name for r in short]
    assert short[-1].config.actor_rl_updates == 0
    pool = [
        CriticExample("b1", [1], [5], 0, "sampled", 1.0, "warm-start"),
        CriticExample("b1", [1], [5], 0, "sampled", 0.6, "warm-start"),  # same program
        CriticExample("a1", [1], [6], 1, "sampled", 1.3, "warm-start"),
        CriticExample("a1", [1], [7], 3, "reference"),
        CriticExample("b1", [1], [8], 2, "sampled", 1.0, "rl-actor"),
        CriticExample("a1", [1], [9], 2, "mutant"),
    ]
    sizes = [len(ablation.part_of_pool(pool, r, {"b1"})) for r in chain]
    by_name = dict(zip([r.name for r in chain], sizes, strict=True))
    assert by_name["original"] == 1  # B's programs at temperature 1, no references
    assert by_name["temperatures"] == 2 and by_name["A's programs"] == 3
    assert by_name["A's references"] == 4 and by_name["dedup"] == 3
    assert by_name["reference mutants"] == 4 and by_name["RL actor's programs"] == 5


def test_a_quick_run_writes_the_table_that_results_md_shows(tmp_path, monkeypatch):
    monkeypatch.setenv("CODE_SYNTHESIS_CACHE", str(tmp_path / "cache"))
    ablation = load_script(REPO_ROOT / "benchmarks" / "critic_ablation.py", "critic_ablation")
    assert ablation.main(["--quick", "--out", str(tmp_path), "--rl-updates", "0", "--quiet"]) == 0
    result = json.loads((tmp_path / "critic_ablation.json").read_text())
    # the sampled programs are cached for the next run, as examples
    (cached,) = (tmp_path / "cache" / "critic-ablation").glob("programs-*.json")
    saved = json.loads(cached.read_text())
    assert {k: len(v) for k, v in saved["pool"].items()} == result["pool"]
    # the held-out programs have their own file, keyed by how many each task gets
    (held_file,) = (tmp_path / "cache" / "critic-ablation").glob("held-*.json")
    assert held_file.name.endswith(f"-{CriticConfig().held_out_samples_per_task}.json")
    held = CriticExample(**json.loads(held_file.read_text())["outcome"][0])
    assert held.source == "sampled" and held.compiles is not None
    # a second run samples nothing and trains nothing: every row was kept
    assert ablation.main(["--quick", "--out", str(tmp_path), "--rl-updates", "0", "--quiet"]) == 0
    again = json.loads((tmp_path / "critic_ablation.json").read_text())
    assert again["rows"] == result["rows"] and again["seconds"] < result["seconds"]
    names = [r["name"] for r in result["rows"]]
    assert names[0] == "original" and "calibrated" in names and "knows syntax" in names
    assert "RL actor's programs" not in names
    n_held = result["held_out"]["n"]["outcome"]
    for row in result["rows"]:
        held = row["outcome"]["held_out"]
        assert held["n"] == n_held  # every recipe on the same programs
        assert 0.0 <= held["balanced_accuracy"] <= 1.0 and 0.0 <= held["constant"] <= 1.0
    assert (tmp_path / "critic_reliability.png").is_file()
    learning = load_script(REPO_ROOT / "benchmarks" / "learning.py", "learning_for_ablation")
    lines = learning.ablation_section(result, tmp_path)
    text = "\n".join(lines)
    assert "one choice at a time" in text and "| original |" in text
    assert "critic_reliability.png" in text and "*Note:*" not in text
    # a note on how the table was measured is shown with it
    noted = learning.ablation_section({**result, "note": "measured before X."}, tmp_path)
    assert "*Note:* measured before X." in noted
