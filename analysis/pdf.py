"""The steering-group report as a PDF the service makes itself (fpdf2, pure Python): the same figures
as /analysis/report, G1-G6 with verdicts and notes, the intervals drawn against the targets, the groups
by gender, on A4.

The texts are the report page's own message ids, so the PDF speaks the staff member's language. The
font is a Unicode TrueType font found on the machine (DejaVu Sans or Noto Sans, Debian's
fonts-dejavu-core / fonts-noto-core); fpdf2 draws Latin, Cyrillic and Greek with it but does not
shape Arabic script or Ethiopic without HarfBuzz, so for Arabic, Dari and Tigrinya the PDF is in
Swedish (the page itself, printed by the browser, is in every language). Without any such font the
PDF falls back to the PDF core font Helvetica, whose Latin-1 lacks the minus sign and the en dash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fpdf import FPDF

from youthvoice.periods import period_words, shown_when_ended

from . import wording

# The languages whose scripts fpdf2 draws without a shaping engine.
PDF_LANGS = ("sv", "lattlast", "en", "so", "uk")
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/noto", "/usr/share/fonts/TTF",
              "/usr/share/fonts/dejavu", "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")
_FONTS = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"))

GOAL_CODES = {"work_or_studies": ("G1", "G2"), "closer": ("G3", "G4"), "useful": ("G5", "G6")}
GOAL_NAMES = {"work_or_studies": "Leave for work or studies", "closer": "Feel closer to work or studies",
              "useful": "Found the help useful"}
GENDER_NAMES = {"woman": "Women and girls", "man": "Men and boys", "non_binary": "Non-binary",
                "undisclosed": "Not told"}

# Colours as on the page (style.css)
_BG, _CI, _MET, _NOT_MET, _TARGET, _INK = (230, 230, 230), (107, 155, 209), (46, 125, 50), (176, 0, 32), \
    (224, 112, 0), (20, 20, 20)


def font_files() -> tuple[Path, Path] | None:
    for regular, bold in _FONTS:
        for d in _FONT_DIRS:
            r, b = Path(d) / regular, Path(d) / bold
            if r.is_file() and b.is_file():
                return r, b
    return None


def pdf_language(lang: str) -> str:
    return lang if lang in PDF_LANGS else "sv"


def pct(x: float) -> str:
    """A percentage as a whole number, a negative one with a true minus sign (U+2212)."""
    v = round(x * 100)
    return f"\u2212{-v}" if v < 0 else str(v)


class _Doc(FPDF):
    def __init__(self, _: Callable[[str], str], footer_text: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self._ = _
        self.footer_text = footer_text
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=15)
        fonts = font_files()
        if fonts:
            self.add_font("body", "", str(fonts[0]))
            self.add_font("body", "B", str(fonts[1]))
            self.family = "body"
            self.unicode = True
        else:
            self.family = "helvetica"
            self.unicode = False

    def text_of(self, s: str) -> str:
        if self.unicode:
            return s
        return s.replace("\u2212", "-").replace("\u2013", "-").encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def para(self, s: str, size: float = 10, bold: bool = False, after: float = 1.5) -> None:
        self.font(size, bold)
        self.multi_cell(0, size * 0.5, self.text_of(s), new_x="LMARGIN", new_y="NEXT", align="L")
        self.ln(after)

    def heading(self, s: str, keep: float) -> None:
        """A heading that never stands alone at a page foot: it moves to the next page unless `keep` mm
        of what follows fit under it."""
        if self.will_page_break(8 + keep):
            self.add_page()
        self.ln(2)
        self.para(s, 13, True, 1)

    def footer(self) -> None:
        self.set_y(-11)
        self.font(8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.text_of(f"{self.footer_text} · {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0, 0, 0)


def _plain(s: str) -> str:
    """Text for a markdown cell: a doubled marker character would switch on bold, italics or underline."""
    for marker in ("**", "__", "--", "~~"):
        s = s.replace(marker, marker[0] + "\u200b" + marker[1])
    return s


def _verdict(f: dict, _, min_cell: int, period: str | None = None) -> str:
    v = f.get("verdict")
    if wording.is_preliminary(f):
        return wording.preliminary_verdict(f, period, _)
    if v == "met":
        return _("The goal is met")
    if v == "not_met":
        return _("The goal is not met")
    if v == "suppressed":
        return _("Too few to show (fewer than %(n)s)") % {"n": min_cell}
    return _("We cannot tell yet")


def _band(p: dict) -> str:
    return f"{pct(p['band'][0])}–{pct(p['band'][1])} %"


def _parity_verdict(p: dict, _) -> str:
    v = p.get("verdict")
    if v == "met":
        return _("Even gender split (%(band)s)") % {"band": _band(p)}
    if v == "not_met":
        return _("Uneven gender split (outside %(band)s)") % {"band": _band(p)}
    if v == "suppressed":
        return _("Too few to show")
    return _("We cannot tell yet")


def _notes(g: dict, _, min_cell: int) -> list[str]:
    out = []
    if g.get("verdict") == "undetermined":
        text = wording.outlook_text(g.get("outlook"), pct, _)
        if text:
            out.append(text)
    if g["goal"] != "work_or_studies" and g.get("verdict") != "suppressed":
        if g.get("dont_know") is None:
            out.append(_("A few answered \"don't know\" (fewer than %(n)s); they count as not reached.")
                       % {"n": min_cell})
        else:
            out.append(_("%(n)s answered \"don't know\"; they count as not reached.") % {"n": g["dont_know"]})
    return out


def _versus(g: dict, _) -> str | None:
    d = g.get("women_vs_men") or {}
    if d.get("difference") is None:
        return None
    return _("Women reached the goal %(d)s percentage points more often than men (probably between %(lo)s and "
             "%(hi)s).") % {"d": pct(d["difference"]), "lo": pct(d["ci95"][0]), "hi": pct(d["ci95"][1])}


def _release_note(ctx: dict, _) -> list[str]:
    rel = ctx.get("release")
    out = []
    if rel:
        if rel.get("kind") == "final":
            out.append(_("Final figures, published %(d)s. They will not change.") % {"d": rel.get("published")})
        else:
            out.append(_("Preliminary totals, published %(d)s. Figures change only on release days (the first "
                         "weekday of each month and the steering group's dates), and a survey's answers only in "
                         "batches; next release %(n)s. Groups are shown when the period has ended.")
                       % {"d": rel.get("published"), "n": ctx.get("next_release")})
    else:
        out.append(_("No figures are published yet. The next update comes %(n)s.") % {"n": ctx.get("next_release")})
    out.append(_("All figures are slightly adjusted to protect anonymity, so they can differ by one or two from "
                 "the true count."))
    rr = ctx.get("response_rate")
    if rr:
        out.append(_("%(used)s of %(issued)s handed-out codes have been used.")
                   % {"used": rr["codes_used"], "issued": rr["codes_issued"]})
    elif not ctx.get("has_code_survey"):
        out.append(_("The surveys are open to anyone with the link, so no response rate can be given."))
    return out


def _figures(f: dict | None, _=None) -> tuple[str, str, str]:
    if not f or f.get("verdict") == "suppressed" or not f.get("ci95"):
        return "–", "–", "–"
    share = f["share"] if "share" in f else f["share_women"]
    n = f["n"] if "n" in f else f["women"] + f["men"]
    shown = f"{pct(share)} %" if share is not None else (wording.fewer_than(f, _) if _ else None) or "–"
    return str(n), shown, f"{pct(f['ci95'][0])}–{pct(f['ci95'][1])} %"


def _goal_rows(ctx: dict, _) -> list[dict]:
    """One row per G1-G6: code, name, target text, figures, verdict, notes, and what the chart draws."""
    rows = []
    when = shown_when_ended(ctx["period"], _)
    for g in ctx["goals"]:
        code, pcode = GOAL_CODES.get(g["goal"], (g["goal"], g["goal"] + "-parity"))
        rows.append(dict(code=code, name=_(GOAL_NAMES.get(g["goal"], g["goal"])), target=f"{pct(g['target'])} %",
                         cells=_figures(g, _), verdict=_verdict(g, _, ctx["min_cell"], ctx.get("period")),
                         notes=_notes(g, _, ctx["min_cell"]), fig=g, line=g["target"], band=None, pending=None))
        p = g.get("parity")
        name = _("Women's share of those who reached the goal")
        if not p:
            rows.append(dict(code=pcode, name=name, target="–", cells=None, verdict=when, notes=[], fig=None,
                             line=None, band=None, pending=when))
        else:
            vs = _versus(g, _)
            rows.append(dict(code=pcode, name=name, target=_band(p), cells=_figures(p, _),
                             verdict=_parity_verdict(p, _), notes=[vs] if vs else [], fig=p, line=None,
                             band=p.get("band"), pending=None))
    return rows


def _goal_table(doc: _Doc, rows: list[dict], _) -> None:
    widths = (44, 19, 19, 16, 23, 59)
    heads = (_("Goal"), _("Target"), _("Number"), _("Share"), _("95 % interval"), _("Verdict"))
    doc.font(8.5, True)
    # markdown: the verdict in bold on its own line; the texts carry no markdown markers (**, __, --)
    with doc.table(col_widths=widths, text_align="LEFT", line_height=4.2, first_row_as_headings=True,
                   padding=1.2, markdown=True) as table:
        head = table.row()
        for h in heads:
            head.cell(doc.text_of(h))
        for r in rows:
            doc.font(8.5)
            row = table.row()
            row.cell(doc.text_of(f"{r['code']}. {r['name']}"))
            row.cell(doc.text_of(r["target"]))
            if r["cells"] is None:
                row.cell(doc.text_of(r["pending"]), colspan=4)
                continue
            for c in r["cells"]:
                row.cell(doc.text_of(c))
            # The verdict on its own line, each note on its own: never run together.
            row.cell(doc.text_of("\n".join([f"**{_plain(r['verdict'])}**", *map(_plain, r["notes"])])))


def _chart(doc: _Doc, rows: list[dict], _) -> None:
    """G1-G6 against their targets: bar = 95 % interval, dot = share, orange line = target, shaded band =
    an even gender split; an axis 0-100 % below."""
    left, width, step = doc.l_margin + 12, doc.epw - 14, 8.5
    height = step * len(rows) + 10
    if doc.will_page_break(height + 24):
        doc.add_page()
    doc.ln(2)
    doc.para(_("The intervals against the targets"), 11, True, 1)
    top = doc.get_y()
    for i, r in enumerate(rows):
        y = top + i * step
        doc.font(9, True)
        doc.set_xy(doc.l_margin, y + 1.2)
        doc.cell(10, 4, r["code"])
        doc.set_fill_color(*_BG)
        doc.rect(left, y + 1.5, width, 4, style="F")
        f = r["fig"]
        if f and f.get("verdict") != "suppressed" and f.get("ci95"):
            colour = {"met": _MET, "not_met": _NOT_MET}.get(f["verdict"], _CI)
            doc.set_fill_color(*colour)
            lo, hi = f["ci95"]
            doc.rect(left + width * lo, y + 1.5, max(0.4, width * (hi - lo)), 4, style="F")
            share = f["share"] if "share" in f else f["share_women"]
            if share is not None:  # a hidden small achieved count has an interval but no share
                doc.set_fill_color(*_INK)
                doc.circle(x=left + width * share, y=y + 3.5, radius=1.4, style="F")
        else:
            doc.font(8.5)
            doc.set_xy(left + 1, y + 1.4)
            doc.cell(width - 2, 4, doc.text_of(r["pending"] or "–"))
        if r["band"]:  # the even split, over the interval and see-through
            lo, hi = r["band"]
            with doc.local_context(fill_opacity=0.3):
                doc.set_fill_color(*_TARGET)
                doc.rect(left + width * lo, y + 0.5, width * (hi - lo), 6, style="F")
            doc.set_draw_color(*_TARGET)
            doc.set_line_width(0.3)
            for edge in (lo, hi):
                doc.line(left + width * edge, y, left + width * edge, y + 7)
        if r["line"] is not None:
            doc.set_draw_color(*_TARGET)
            doc.set_line_width(0.6)
            doc.line(left + width * r["line"], y, left + width * r["line"], y + 7)
    axis = top + step * len(rows) + 1
    doc.set_draw_color(120, 120, 120)
    doc.set_line_width(0.2)
    doc.line(left, axis, left + width, axis)
    doc.font(8.5)
    for t in (0, 25, 50, 75, 100):
        x = left + width * t / 100
        doc.line(x, axis, x, axis + 1.5)
        doc.set_xy(x - 8, axis + 1.8)
        doc.cell(16, 4, f"{t} %", align="C")
    doc.set_draw_color(0, 0, 0)
    doc.set_y(axis + 7)
    doc.para(_("Each bar is the 95 % interval, the dot is the share and the orange line is the target. For G2, "
               "G4 and G6 the shaded band is an even gender split."), 8.5)


def _gender_tables(doc: _Doc, ctx: dict, _) -> None:
    with_groups = [g for g in ctx["goals"] if g.get("by_gender")]
    first = True
    heading = _("By gender")
    if not with_groups:
        doc.heading(heading, 10)
        doc.para(shown_when_ended(ctx["period"], _))
        return
    for g in with_groups:
        need = 8 + 6 * (len(g["by_gender"]) + 1)
        if first:
            doc.heading(heading, need)
            first = False
        elif doc.will_page_break(need):
            doc.add_page()
        code = GOAL_CODES.get(g["goal"], (g["goal"],))[0]
        doc.para(f"{code}. {_(GOAL_NAMES.get(g['goal'], g['goal']))}", 10, True, 0.5)
        doc.font(8.5)
        with doc.table(col_widths=(50, 20, 20, 30, 60), text_align="LEFT", line_height=4.2, padding=1.2) as table:
            head = table.row()
            for h in (_("Group"), _("Number"), _("Share"), _("95 % interval"), _("Verdict")):
                head.cell(doc.text_of(h))
            for cat, f in g["by_gender"].items():
                row = table.row()
                row.cell(doc.text_of(_(GENDER_NAMES.get(cat, cat))))
                n, share, ci = _figures(f, _)
                for c in (n, share, ci):
                    row.cell(doc.text_of(c))
                row.cell(doc.text_of(_verdict(f, _, ctx["min_cell"], ctx.get("period"))))
        doc.ln(2)


def report_pdf(ctx: dict[str, Any], _: Callable[[str], str]) -> bytes:
    """The report for the steering group as PDF bytes. `ctx` is the report page's context (goals, release,
    period, unit_name, min_cell, volume, ...); `_` translates the page's message ids."""
    day: dt.date = ctx["today"]
    words = period_words(ctx["period"], _)
    unit = ctx.get("unit_name") or _("All your units")
    doc = _Doc(_, f"{_('Effect goals for the steering group')} · {unit} · {words}")
    doc.set_title(_("Effect goals for the steering group"))
    doc.set_creator("youthvoice")
    doc.set_lang(ctx.get("lang", "sv"))
    doc.add_page()
    doc.para(_("Effect goals for the steering group"), 17, True, 2)
    doc.para(f"{unit} · {_('Period')}: {words} · {_('Printed %(d)s') % {'d': day.isoformat()}}", 10, False, 2)
    for s in _release_note(ctx, _):
        doc.para(s, 9, False, 0.8)
    doc.ln(2)
    if not ctx["goals"]:
        doc.para(_("No figures are published for this period yet."), 11)
    else:
        rows = _goal_rows(ctx, _)
        _goal_table(doc, rows, _)
        doc.ln(3)
        _chart(doc, rows, _)
    if ctx.get("volume"):
        doc.heading(_("Volume goals"), 6 * len(ctx["volume"]))
        for v in ctx["volume"]:
            doc.para(_("%(name)s: %(n)s in %(period)s (target %(t)s a year)")
                     % {"name": v["name"], "n": v["count"], "period": words, "t": v["target_per_year"]}, 10, False, 0.5)
    if ctx["goals"]:
        _gender_tables(doc, ctx, _)
    doc.heading(_("How to read this"), 20)
    doc.para(_("The interval shows where the true share probably is (95 %). The goal is met when the whole interval "
               "reaches the target, and not met when the whole interval is below it. Otherwise we cannot tell yet."))
    doc.para(_("Groups smaller than %(n)s are hidden so that nobody can be recognised.") % {"n": ctx["min_cell"]})
    return bytes(doc.output())
