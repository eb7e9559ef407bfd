"""`review-lstm plots`: the DVC plots as one HTML page that works offline.

DVC's default page loads Vega, Vega-Lite and Vega-Embed from a CDN. This command
inlines the copies that `npm ci --prefix plots` installed into plots/template.html,
then runs `dvc plots show` (or `dvc plots diff` with --base) with that template.
"""

import argparse
import logging
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from dvc.exceptions import NotDvcRepoError
from dvc.repo import Repo

from review_lstm.errors import UserInputError

logger = logging.getLogger("plots")

PLOTS_FOLDER = Path("plots")
TEMPLATE = PLOTS_FOLDER / "template.html"
LIBRARIES_MARKER = "<!-- vega libraries -->"
# Loaded in this order: Vega-Lite and Vega-Embed need the `vega` global.
LIBRARIES = (
    Path("vega/build/vega.min.js"),
    Path("vega-lite/build/vega-lite.min.js"),
    Path("vega-embed/build/vega-embed.min.js"),
)
DEFAULT_OUTPUT = Path("dvc_plots")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", help="git revision to compare with (`dvc plots diff`); default: show the "
                                       "working tree's plots only (`dvc plots show`)")
    parser.add_argument("--target", help="git revision of the change, with --base (default: the working tree)")
    parser.add_argument("--output", "-o", type=Path, default=DEFAULT_OUTPUT,
                        help=f"folder for index.html and its images (default: {DEFAULT_OUTPUT})")


def run(args: argparse.Namespace) -> int:
    if args.target and not args.base:
        raise UserInputError("--target needs --base: name the revision to compare the target with.")
    root = _project_root()

    with tempfile.TemporaryDirectory(prefix="review-lstm-plots-") as folder:
        template = Path(folder) / "template.html"
        template.write_text(build_offline_template(root), encoding="utf-8")
        command = _dvc_plots_command(args.base, args.target, template, args.output)
        result = subprocess.run(command, cwd=Path.cwd(), capture_output=True, text=True)

    if result.returncode != 0:
        raise UserInputError(f"`{' '.join(command[2:5])}` failed: {result.stderr.strip() or result.stdout.strip()}")
    page = args.output / "index.html"
    logger.info("wrote %s; open it in a browser (no network needed)", page)
    return 0


def build_offline_template(root: Path) -> str:
    """Return plots/template.html with the Vega libraries inlined as <script> elements."""
    template_path = root / TEMPLATE
    modules = root / PLOTS_FOLDER / "node_modules"
    missing = [library for library in LIBRARIES if not (modules / library).is_file()]
    if missing:
        raise UserInputError(f"{modules / missing[0]}: not found; install the Vega libraries once with "
                             f"`npm ci --prefix plots` (or `make plots`), which needs the npm registry.")

    template = template_path.read_text(encoding="utf-8")
    if LIBRARIES_MARKER not in template:
        raise UserInputError(f"{template_path}: the line '{LIBRARIES_MARKER}' is missing; it marks where the "
                             f"Vega libraries go.")
    scripts = "\n".join(_script_element(modules / library) for library in LIBRARIES)
    return template.replace(LIBRARIES_MARKER, scripts)


def _script_element(path: Path) -> str:
    source = path.read_text(encoding="utf-8")
    # The source map is not copied, and "</script" in a string would end the element early.
    source = "\n".join(line for line in source.splitlines() if not line.startswith("//# sourceMappingURL="))
    source = re.sub(r"</(script)", r"<\\/\1", source, flags=re.IGNORECASE)
    return f"<script>\n{source}\n</script>"


def _dvc_plots_command(base: str | None, target: str | None, template: Path, output: Path) -> list[str]:
    command = [sys.executable, "-m", "dvc", "plots"]
    if base:
        command += ["diff", base] + ([target] if target else [])
    else:
        command += ["show"]
    return command + ["--html-template", str(template), "--out", str(output)]


def _project_root() -> Path:
    try:
        return Path(Repo.find_root())
    except NotDvcRepoError:
        raise UserInputError(f"{Path.cwd()}: not inside a DVC project; run `review-lstm plots` from the "
                             f"project folder.") from None
