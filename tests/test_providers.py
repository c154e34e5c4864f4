"""Providers: config schemas checked at load, required versions, resources planned and
applied like Terraform's (a greeting file from a third-party provider), and local training."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ZENCTL, Project, Store
from zenctl_local.training import visible_gpus

HELLO = """
zenctl {
  required_providers {
    hello = ">= 0.2"
    local = ">= 0.1, < 0.2"
  }
}

variable "text" {
  type    = string
  default = "Hello"
}

stack "dev" {
  orchestrator "local" {}
  artifact_store "local" {}
  metadata_store "sqlite" {}
  greeting "file" {
    path = "out/hello.txt"
    text = var.text
  }
}

pipeline "demo" {
  stack = stack.dev
  step "prep" {
    run = "steps.pipeline:prep"
    inputs = { raw = source.raw }
  }
  source "raw" {
    path = "data/raw.txt"
  }
}
"""


def test_providers_lists_installed_ones_and_prints_their_schemas(project: Project) -> None:
    listed = project.run("providers")
    assert listed.code == 0, listed.both
    assert "local 0.1.0" in listed.out and "hello 0.2.0" in listed.out
    assert 'serving "local"' in listed.out and 'greeting "file"' in listed.out
    schemas = json.loads(project.run("providers", "schema", "-json").out)
    training = schemas["providers"]["local"]["components"]["training"]["local"]["schema"]
    assert set(training["properties"]) == {"env", "timeout", "gpus"}
    assert training["additionalProperties"] is False
    greeting = schemas["providers"]["hello"]["components"]["greeting"]["file"]["schema"]
    assert greeting["required"] == ["path"]


def test_component_settings_are_checked_against_the_provider_schema(project: Project) -> None:
    project.write(
        "main.zc.hcl",
        """
        stack "s" {
          orchestrator "local" {}
          artifact_store "local" {
            pth = ".zenctl/a"
          }
          metadata_store "sqlite" {}
          training "local" {
            gpus = "one"
          }
        }
        pipeline "p" {
          stack = stack.s
          step "a" {
            run = "steps.pipeline:report"
          }
        }
        """,
    )
    result = project.run("validate")
    assert result.code == 1
    assert "Traceback" not in result.both
    assert 'An argument named "pth" is not expected here. Did you mean "path"?' in result.err
    assert "on main.zc.hcl line 4" in result.err  # the attribute's own line
    assert 'Inappropriate value for "gpus"' in result.err
    assert "on main.zc.hcl line 8" in result.err


def test_required_providers_fail_cleanly_when_not_satisfied(project: Project) -> None:
    project.write(
        "versions.zc.hcl",
        """
        zenctl {
          required_providers {
            local = ">= 9.0"
            cloudy = ">= 1"
          }
        }
        """,
    )
    result = project.run("plan")
    assert result.code == 1
    assert 'Provider "local" 0.1.0 does not satisfy ">= 9.0"' in result.err
    assert 'Required provider "cloudy" is not installed' in result.err
    assert "versions.zc.hcl line 3" in result.err and "versions.zc.hcl line 4" in result.err


def test_third_party_resource_lifecycle_with_drift_and_destroy(project: Project) -> None:
    project.write("main.zc.hcl", HELLO)
    greeting = project.root / "out" / "hello.txt"
    plan = project.run("plan")
    assert plan.code == 0, plan.both
    assert '+   stack.dev.greeting  create (greeting "file")' in plan.out
    assert '+ path: "out/hello.txt"' in plan.out
    assert plan.out.rstrip().endswith(
        "Plan: 1 to run, 0 cached, 0 to remove; 1 to add, 0 to change, 0 to destroy."
    )
    assert project.apply().code == 0
    assert greeting.read_text() == "Hello\n"
    assert "No changes. 1 steps cached." in project.run("plan").out

    changed = project.run("plan", "--var", "text=Bonjour")
    assert '~ text: "Hello" -> "Bonjour"' in changed.out
    assert "update in place" in changed.out
    applied = project.apply("--var", "text=Bonjour")
    assert "0 added, 1 changed, 0 destroyed" in applied.out
    assert greeting.read_text() == "Bonjour\n"

    greeting.write_text("edited by hand\n")
    drift = project.run("plan", "--var", "text=Bonjour")
    assert "Changed outside zenctl" in drift.out
    assert "~ sha256:" in drift.out
    assert "-/+ stack.dev.greeting" in drift.out
    skipped = project.run("plan", "--var", "text=Bonjour", "-refresh=false")
    assert "No changes." in skipped.out  # the recorded state is trusted: no drift seen

    document = json.loads(project.run("plan", "--var", "text=Bonjour", "--json").out)
    (change,) = document["resource_changes"]
    assert change["action"] == "replace" and change["drift"]["gone"] is False
    assert document["summary"]["to_add"] == 1 and document["summary"]["to_destroy"] == 1

    moved = HELLO.replace('path = "out/hello.txt"', 'path = "out/moved.txt"')
    project.write("main.zc.hcl", moved)
    plan = project.run("plan", "--var", "text=Bonjour")
    assert '~ path: "out/hello.txt" -> "out/moved.txt"  # forces replacement' in plan.out
    assert project.apply("--var", "text=Bonjour").code == 0
    assert not greeting.exists() and (project.root / "out" / "moved.txt").exists()

    refused = project.run("destroy")
    assert refused.code == 1 and "Destroy needs confirmation" in refused.err
    destroyed = project.run("destroy", "--auto-approve")
    assert destroyed.code == 0, destroyed.both
    assert "-   stack.dev.greeting  destroy" in destroyed.out
    assert "Destroy complete! Resources: 1 destroyed." in destroyed.out
    assert not (project.root / "out" / "moved.txt").exists()
    assert "No changes." in project.run("destroy").out


def test_a_stack_resource_is_listed_and_made_before_the_steps_and_destroyed_after(
    project: Project,
) -> None:
    """The plan's stages: what apply does first is listed first, in every rendering."""
    project.write("main.zc.hcl", HELLO)
    plan = project.run("plan").out
    assert plan.index("+   stack.dev.greeting  create") < plan.index("+ pipeline.demo.step.prep")
    comment = project.run("plan", "--format", "markdown").out
    first = "**Resources to change before the steps (1)**\n- `stack.dev.greeting`: create"
    assert -1 < comment.find(first) < comment.find("**To run (1)**\n- `pipeline.demo.step.prep`")
    applied = project.apply()
    assert applied.code == 0, applied.both
    made = applied.out.index("stack.dev.greeting: Creation complete")
    assert made < applied.out.index("pipeline.demo.step.prep: Running...")

    # No longer declared, it is destroyed once the steps have run, and listed after them.
    block = '  greeting "file" {\n    path = "out/hello.txt"\n    text = var.text\n  }\n'
    assert block in HELLO
    project.write("main.zc.hcl", HELLO.replace(block, ""))
    project.write("data/raw.txt", "7 8 9\n")
    plan = project.run("plan").out
    assert plan.index("~ pipeline.demo.step.prep") < plan.index("-   stack.dev.greeting  destroy")
    applied = project.apply()
    assert applied.code == 0, applied.both
    done = applied.out.index("pipeline.demo.step.prep: Done")
    assert done < applied.out.index("stack.dev.greeting: Destroying...")


TRAINING_STEPS = """
import os
import time


def where() -> dict:
    print("training sees", os.environ.get("ZC_MARK"))
    return {"mark": os.environ.get("ZC_MARK"), "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}


def elsewhere() -> dict:
    return {"mark": os.environ.get("ZC_MARK")}


def slow() -> int:
    time.sleep(60)
    return 1
"""

TRAINING = """
stack "s" {
  orchestrator "local" {}
  artifact_store "local" {}
  metadata_store "sqlite" {}
  training "local" {
    env     = { ZC_MARK = "from-training" }
    timeout = "3s"
    GPUS
  }
}

pipeline "p" {
  stack = stack.s
  step "trained" {
    run = "steps.train:where"
    on  = "training"
  }
  step "plain" {
    run = "steps.train:elsewhere"
  }
  step "slow" {
    run = "steps.train:slow"
    on  = "training"
  }
}
"""


def _output(project: Project, address: str) -> dict:  # type: ignore[type-arg]
    shown = project.run("show", address).out
    uri = next(word for word in shown.split() if word.startswith("file://"))
    return json.loads(open(uri.removeprefix("file://")).read())  # type: ignore[no-any-return]


def test_training_steps_run_in_their_own_process_with_env_and_timeout(project: Project) -> None:
    project.write("steps/train.py", TRAINING_STEPS)
    project.write("main.zc.hcl", TRAINING.replace("GPUS", ""))
    result = project.apply()
    assert result.code == 1
    assert "pipeline.p.step.slow: timed out after 3s (training timeout)" in result.err
    assert _output(project, "pipeline.p.step.trained") == {"mark": "from-training", "cuda": ""}
    assert _output(project, "pipeline.p.step.plain") == {"mark": None}  # the orchestrator's
    logs = list((project.root / ".zenctl" / "artifacts" / "logs").rglob("*trained.log"))
    assert "training sees from-training" in logs[0].read_text()


@pytest.mark.skipif(visible_gpus() > 0, reason="this machine has a GPU")
def test_asking_for_a_gpu_without_one_is_a_clear_error(project: Project) -> None:
    project.write("steps/train.py", TRAINING_STEPS)
    project.write("main.zc.hcl", TRAINING.replace("GPUS", "gpus = 1"))
    result = project.apply()
    assert result.code == 1
    assert 'training "local" needs 1 GPU(s), this machine has 0' in result.err
    assert "Set gpus = 0" in result.err and "Traceback" not in result.err
    assert "No executions recorded" in project.run("show", "pipeline.p.step.trained").err


def test_installing_or_removing_a_provider_is_seen_at_once(tmp_path: Path) -> None:
    """Entry points are remembered between commands; a change on sys.path invalidates them."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "fakeprov.py").write_text(
        "from zenctl.providers.protocol import ComponentType, Provider\n"
        'PROVIDER = Provider("fake", "9.9", (ComponentType("greeting", "fake", "fakeprov:x"),))\n'
    )
    info = site / "fakeprov-9.9.dist-info"
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def listed() -> str:
        done = subprocess.run(
            [ZENCTL, "providers"], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "fake 9.9" not in listed()
    info.mkdir()  # what pip install leaves
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeprov\nVersion: 9.9\n")
    (info / "entry_points.txt").write_text("[zenctl.providers]\nfake = fakeprov:PROVIDER\n")
    assert 'fake 9.9\n  greeting "fake"' in listed()
    assert 'fake 9.9\n  greeting "fake"' in listed()  # from the remembered list
    assert len(list((tmp_path / "cache" / "zenctl").glob("providers-*.json"))) == 1
    shutil.rmtree(info)  # what pip uninstall does
    assert "fake 9.9" not in listed()


def test_a_providers_error_that_quotes_a_secret_is_masked(project: Project) -> None:
    """A provider's failure message quotes a sensitive setting: it is masked where apply
    prints and records it, as a step's error is."""
    secret = "s3cr3t-d1r-n4me"
    project.write(
        "main.zc.hcl",
        HELLO.replace('path = "out/hello.txt"', 'path = "out/${var.name}"').replace(
            'variable "text" {',
            'variable "name" {\n  type      = string\n  sensitive = true\n}\n\nvariable "text" {',
        ),
    )
    (project.root / "out" / secret).mkdir(parents=True)  # writing the file fails, naming it
    applied = project.apply(env={"ZENCTL_VAR_name": secret})
    assert applied.code == 1, applied.both
    assert "IsADirectoryError" in applied.both and "out/***" in applied.both, applied.both
    assert secret not in applied.both
    written = b"".join(p.read_bytes() for p in (project.root / ".zenctl").rglob("*") if p.is_file())
    assert secret.encode() not in written


SETTINGS_TYPOS = """
stack "s" {
  orchestrator "dask" {
    schedular = "tcp://127.0.0.1:8786"
  }
  artifact_store "gcs" {
    bucket = "gs://my-bucket"
  }
  metadata_store "sqlite" {}
  processing "beam" {
    runer = "FnApiRunner"
  }
}

stack "t" {
  orchestrator "local" {}
  artifact_store "local" {}
  metadata_store "gcs" {
    bucket = "b-1"
    prefx  = "state"
  }
  processing "dataflow" {
    project  = "p"
    region   = "europe-west1"
    template = "templates/x.json"
  }
}

pipeline "p" {
  stack = stack.s
  step "a" {
    run = "steps.pipeline:report"
  }
}
"""


def test_validate_checks_the_settings_of_every_providers_components(project: Project) -> None:
    """Dask, Beam and Google Cloud settings are checked by their schemas when the
    configuration is read, each problem at its own line, as the local provider's are."""
    project.write("main.zc.hcl", SETTINGS_TYPOS)
    result = project.run("validate")
    assert result.code == 1
    assert "Traceback" not in result.both
    expected = [
        (3, 'An argument named "schedular" is not expected here. Did you mean "scheduler"?'),
        (6, 'Inappropriate value for "bucket": give the bucket name without "gs://"'),
        (10, 'An argument named "runer" is not expected here. Did you mean "runner"?'),
        (19, 'An argument named "prefx" is not expected here. Did you mean "prefix"?'),
        (24, 'Inappropriate value for "template": give the Cloud Storage path'),
    ]
    for line, problem in expected:
        assert f"on main.zc.hcl line {line}, in stack" in result.err, (line, result.err)
        assert problem in result.err
    assert result.err.count("Error:") == len(expected)


def test_every_component_type_prints_a_real_schema(project: Project) -> None:
    listed = project.run("providers", "schema", "--json")
    assert listed.code == 0, listed.both
    document = json.loads(listed.out)
    types = {
        (name, kind, type_): entry["schema"]
        for name, provider in document["providers"].items()
        for kind, offered in provider["components"].items()
        for type_, entry in offered.items()
    }
    assert ("dask", "orchestrator", "dask") in types and ("beam", "processing", "beam") in types
    for component, schema in types.items():
        assert schema["type"] == "object" and "properties" in schema, component
        assert schema["additionalProperties"] is False, component  # unknown settings refused
    assert set(types["gcp", "processing", "dataflow"]["required"]) == {
        "project",
        "region",
        "template",
    }
    assert types["beam", "processing", "beam"]["properties"]["runner"]["default"] == "FnApiRunner"


def _distribution(site: Path, name: str, module: str, source: str) -> dict[str, str]:
    """A provider distribution as pip leaves it in site-packages, and the environment of a
    zenctl that sees it (beside everything installed)."""
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(source)
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    entry = name.removeprefix("zenctl-")
    (info / "entry_points.txt").write_text(f"[zenctl.providers]\n{entry} = {module}:PROVIDER\n")
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_two_providers_offering_one_component_is_an_error_naming_both(
    project: Project, tmp_path: Path
) -> None:
    project = Project(project.root, project.store, end_to_end=True)  # PYTHONPATH: at start
    env = _distribution(
        tmp_path / "site",
        "zenctl-shadow",
        "shadowprov",
        "from zenctl.sdk import ComponentType, Provider\n"
        'PROVIDER = Provider("shadow", "1.0", (ComponentType("orchestrator", "local", "x:y"),))\n',
    )
    for command in ("validate", "providers"):
        result = project.run(command, env=env)
        assert result.code == 1, result.both
        assert 'Error: Two providers offer orchestrator "local"' in result.err
        assert 'provider "local" (zenctl-local 0.1.0)' in result.err
        assert 'provider "shadow" (zenctl-shadow 1.0)' in result.err


def test_the_default_stack_is_the_one_a_provider_declares(project: Project, tmp_path: Path) -> None:
    """The core names no component type: the local provider declares the default stack, and
    a second declaration is an error for a project that relies on it."""
    project = Project(project.root, project.store, end_to_end=True)  # PYTHONPATH: at start
    assert project.apply().code == 0  # no stack declared: the local provider's
    env = _distribution(
        tmp_path / "site",
        "zenctl-other",
        "otherprov",
        "from zenctl.sdk import Provider\n"
        'PROVIDER = Provider("other", "1.0", (), (("orchestrator", "local"),))\n',
    )
    result = project.run("validate", env=env)
    assert result.code == 1
    assert "Error: Two providers offer a default stack" in result.err
    assert 'provider "local" (zenctl-local 0.1.0)' in result.err
    project.write("stack.zc.hcl", Store("sqlite").block())  # a stack of its own: no matter
    assert project.run("validate", env=env).code == 0


def test_a_broken_provider_warns_until_the_configuration_uses_it(
    project: Project, tmp_path: Path
) -> None:
    project = Project(project.root, project.store, end_to_end=True)  # PYTHONPATH: at start
    env = _distribution(
        tmp_path / "site",
        "zenctl-broken",
        "brokenprov",
        "import zenctl_missing_dependency\n",
    )
    validated = project.run("validate", env=env)
    assert validated.code == 0, validated.both
    assert 'Warning: Provider "broken" failed to load' in validated.err
    assert "ModuleNotFoundError: No module named 'zenctl_missing_dependency'" in validated.err
    applied = project.apply(env=env)
    assert applied.code == 0, applied.both  # the default stack needs nothing of it
    assert 'Warning: Provider "broken" failed to load' in applied.err

    project.write(
        "stack.zc.hcl",
        """
        stack "default" {
          orchestrator "broken" {}
          artifact_store "local" {}
          metadata_store "sqlite" {}
        }
        """,
    )
    used = project.run("validate", env=env)
    assert used.code == 1
    assert "Traceback" not in used.both
    said = " ".join(used.err.replace("│", " ").split())  # long details wrap
    assert 'Error: No installed provider offers orchestrator "broken"' in said
    assert 'Provider "broken" failed to load, and may be the one that offers it' in said
    assert "Reinstall zenctl-broken 1.0, or uninstall it." in said
