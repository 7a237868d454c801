"""Reading an HTML report back: a strict tag-balance check and what the page holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})


@dataclass
class Tag:
    name: str
    attrs: dict[str, str | None]
    text: list[str] = field(default_factory=list)
    title: str | None = None  # the text of an SVG <title> child: its tooltip
    parent: Tag | None = field(default=None, repr=False, compare=False)

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def within(self, other: Tag) -> bool:
        """True when this element is ``other`` or inside it."""
        node: Tag | None = self
        while node is not None:
            if node is other:
                return True
            node = node.parent
        return False


class Page(HTMLParser):
    """Parses a document; raises AssertionError on any tag closed out of order or left open.

    ``tags`` holds every element with its attributes and its own text; ``text`` the whole
    document's text as a reader sees it (no markup).
    """

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[Tag] = []
        self.doctype: str | None = None
        self._open: list[Tag] = []
        self._text: list[str] = []
        self.feed(document)
        self.close()
        assert not self._open, f"left open: {[t.name for t in self._open]}"

    @property
    def text(self) -> str:
        return "".join(self._text)

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Tag(tag, dict(attrs), parent=self._open[-1] if self._open else None)
        self.tags.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(Tag(tag, dict(attrs), parent=self._open[-1] if self._open else None))

    def handle_endtag(self, tag: str) -> None:
        assert self._open, f"</{tag}> closes nothing"
        top = self._open.pop()
        assert top.name == tag, f"</{tag}> closes <{top.name}>"
        if tag == "title" and self._open:
            self._open[-1].title = "".join(top.text)

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._open:
            self._open[-1].text.append(data)

    def find(self, name: str, **attrs: str) -> list[Tag]:
        """Elements named ``name`` whose attributes contain the given values (``cls`` is
        matched as one of the element's classes)."""
        found = []
        for tag in self.tags:
            if tag.name != name:
                continue
            if "cls" in attrs and attrs["cls"] not in tag.classes:
                continue
            if all(tag.attrs.get(k) == v for k, v in attrs.items() if k != "cls"):
                found.append(tag)
        return found

    def inside(self, outer: Tag, name: str, **attrs: str) -> list[Tag]:
        """Like :meth:`find`, only the elements inside ``outer``."""
        return [tag for tag in self.find(name, **attrs) if tag.within(outer)]
