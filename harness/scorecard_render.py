"""The scorecard written out: console text, a Markdown page, and an SVG badge for a README."""

from __future__ import annotations

from xml.sax.saxutils import escape

from harness.scorecard import CategoryScore, Mark, Scorecard

_NOT_CREDITED: tuple[Mark, ...] = ("failed", "inconclusive", "not-exercised", "interrupted",
                                   "not-run")

BADGE_COLOURS = {"A": "#4c1", "B": "#97ca00", "C": "#dfb317", "D": "#fe7d37", "F": "#e05d44",
                 None: "#9f9f9f"}


def _headline(card: Scorecard) -> str:
    grade = card.grade or "no grade"
    return (f"{grade} overall: {card.credited} of {card.total} scenarios credited"
            f" (the overall grade is the lowest category grade)")


def _uncounted(card: Scorecard) -> str:
    counts = [f"{card.count(mark)} {mark.replace('-', ' ')}" for mark in _NOT_CREDITED]
    return "Not credited: " + ", ".join(counts)


def _behind(score: CategoryScore) -> str:
    """The scenarios behind a mark short of full credit, each with its mark and why."""
    return "; ".join(
        f"{m.scenario} ({m.mark}{': ' + m.why if m.why else ''})" for m in score.uncredited
    )


def render_console(card: Scorecard) -> str:
    """Plain text, one line per category."""
    width = max(len(c.category.title) for c in card.categories)
    lines = [f"Resilience scorecard: {_headline(card)}"]
    for score in card.categories:
        if not score.marks:
            if score.category.key != "other":
                lines.append(f"  -  {score.category.title:<{width}}  no scenario in this run")
            continue
        share = f"{score.credited:>2}/{score.total:<2}"
        line = f"  {score.grade or '-'}  {score.category.title:<{width}}  {share}"
        if score.uncredited:
            line += f"  {_behind(score)}"
        lines.append(line.rstrip())
    lines.append(_uncounted(card))
    return "\n".join(lines) + "\n"


def render_markdown(card: Scorecard, title: str = "SMTP client resilience scorecard") -> str:
    """A Markdown page: the grades table, then what each category asks."""
    lines = [f"# {title}", "", f"**{_headline(card)}.** {_uncounted(card)}.", "",
             "| category | grade | credited | not credited, and why |", "|---|---|---|---|"]
    for score in card.categories:
        if not score.marks and score.category.key == "other":
            continue
        grade = score.grade or "—"
        credited = f"{score.credited}/{score.total}" if score.marks else "no scenario run"
        behind = _behind(score).replace("|", "\\|")
        lines.append(f"| {score.category.title} | {grade} | {credited} | {behind} |")
    lines += ["", "What each category asks:", ""]
    lines += [f"- **{c.category.title}**: {c.category.question}" for c in card.categories
              if c.marks or c.category.key != "other"]
    lines += ["", "Only a passed scenario earns credit: failed, inconclusive (timing noise left"
              " a check open), not exercised (the situation never arose), interrupted and not"
              " run count as none. Grades: A all credited, B 90 %, C 75 %, D 50 %, F below.",
              ""]
    return "\n".join(lines)


def _text_width(text: str) -> int:
    """The width of ``text`` in 11 px Verdana, near enough for a badge."""
    return int(sum(7.5 if ch.isupper() or ch.isdigit() else 6.2 for ch in text)) + 10


def render_badge(card: Scorecard, label: str = "SMTP resilience") -> str:
    """A flat SVG badge: the label, then the overall grade and the credited share."""
    value = f"{card.grade} {card.credited}/{card.total}" if card.grade else "no grade"
    left, right = _text_width(label), _text_width(value)
    colour = BADGE_COLOURS[card.grade]
    label_x, value_x = left / 2, left + right / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + right}" height="20"'
        f' role="img" aria-label="{escape(label)}: {escape(value)}">'
        f"<title>{escape(label)}: {escape(value)}</title>"
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif"'
        ' font-size="11">'
        f'<text x="{label_x:g}" y="14">{escape(label)}</text>'
        f'<text x="{value_x:g}" y="14">{escape(value)}</text>'
        "</g></svg>\n"
    )
