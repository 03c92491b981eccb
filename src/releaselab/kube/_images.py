"""The lab images: read cluster/images.yaml, build each tag with the docker SDK.

The same file feeds the simulator (each tag's args become the container's
default environment), so a tag listed here is exactly a tag that "exists".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from ..errors import BackendError, ManifestError


@dataclass(frozen=True)
class ImageSpec:
    tag: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ImagePlan:
    context: Path        # the docker build context
    dockerfile: str      # relative to the context
    images: tuple        # of ImageSpec


def load_images(path: Path) -> ImagePlan:
    """cluster/images.yaml as an ImagePlan; ManifestError naming what is wrong."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path} is not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ManifestError(f"{path} needs a top-level list `images:` of {{tag, args}}")
    build = data.get("build") or {}
    context = (Path(path).parent / build.get("context", ".")).resolve()
    images = []
    for i, item in enumerate(data["images"]):
        tag = item.get("tag") if isinstance(item, dict) else None
        if not isinstance(tag, str) or ":" not in tag:
            raise ManifestError(f"{path}: images[{i}] needs a `tag: name:version`")
        args = item.get("args") or {}
        if not isinstance(args, dict):
            raise ManifestError(f"{path}: images[{i}].args must be a mapping of build args")
        images.append(ImageSpec(item["tag"], {str(k): str(v) for k, v in args.items()}))
    return ImagePlan(context, str(build.get("dockerfile", "Dockerfile")), tuple(images))


def build_images(client, plan: ImagePlan, say: Callable[[str], None]) -> list[str]:
    """Build every image of ``plan`` with a docker SDK ``client``; returns the tags."""
    import docker.errors

    if not (plan.context / plan.dockerfile).is_file():
        raise ManifestError(f"no {plan.dockerfile} in {plan.context}: the demo app's image "
                            f"cannot be built")
    tags = []
    for n, image in enumerate(plan.images, 1):
        say(f"      building {image.tag} ({n}/{len(plan.images)})")
        try:
            client.images.build(path=str(plan.context), dockerfile=plan.dockerfile,
                                tag=image.tag, buildargs=image.args, rm=True)
        except docker.errors.BuildError as exc:
            raise BackendError(f"docker build of {image.tag} failed: {exc.msg}") from None
        except docker.errors.APIError as exc:
            raise BackendError(f"docker refused to build {image.tag}: {exc.explanation}") from None
        tags.append(image.tag)
    return tags
