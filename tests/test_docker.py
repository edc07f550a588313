"""The Docker files are valid and wire what the README promises (no Docker engine runs here:
`docker compose config` validates without one)."""
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

DOCKER = Path(__file__).resolve().parents[1] / "docker"


def compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (make test installs docker-compose)")


def compose_config(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*compose_command(), "-f", str(path), *args, "config"], capture_output=True, text=True)


def test_compose_file_validates_with_every_service():
    result = compose_config(DOCKER / "docker-compose.yml", "--profile", "gpu")
    assert result.returncode == 0, result.stderr
    for service in ("redis:", "label-studio:", "backend:", "worker:", "gpu-worker:"):
        assert service in result.stdout
    assert result.stdout.count("healthcheck:") >= 3  # redis, label-studio, backend


def test_compose_validation_rejects_a_broken_file(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  backend:\n    image: x\n    ports: 9090\n    depends_on: {redis: {condition: nope}}\n")
    assert compose_config(broken).returncode != 0


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfiles_copy_existing_folders(dockerfile):
    root = DOCKER.parent
    for line in (DOCKER / dockerfile).read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (root / source).exists(), f"{dockerfile}: COPY {source} does not exist"


def test_cpu_image_pins_cpu_torch():
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in (DOCKER / "Dockerfile").read_text()
