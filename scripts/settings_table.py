"""Print the Markdown table of every setting for the README.

uv run python scripts/settings_table.py
"""

from __future__ import annotations

from core.settings import Settings


def main() -> None:
    print("| variable | default | meaning |")
    print("|---|---|---|")
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default is None else str(default)
        if name == "data_dir":
            shown = "./var"
        print(f"| `ARCHIVE_{name.upper()}` | `{shown}` | {field.description or ''} |")


if __name__ == "__main__":
    main()
