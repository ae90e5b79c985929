"""info.xml, the description at the root of every package: parsed with defusedxml (no DTD,
no entities, no external references), validated against ``schemas/dcext.xsd`` with
xmlschema, and checked further (GUID, version, ApiVersion 8, platform codes)."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pyhost.host.binary import PLATFORMS
from pyhost.host.plugin_files import is_guid
from pyhost.packages.rules import _and, _one_line, _show

#: The plugin API version packages must declare (ABI v8).
API_VERSION = 8
#: The package description every archive holds at its root.
INFO_XML = "info.xml"
#: The XML schema info.xml is validated against (shipped inside the package).
SCHEMA_PATH = Path(__file__).resolve().with_name("schemas") / "dcext.xsd"

_ORDER = ("UUID", "Name", "Version", "ApiVersion", "Author", "Description", "Website",
          "Plugin", "Files")
_REQUIRED = ("UUID", "Name", "Version", "ApiVersion")
_VERSION = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?")
_INTEGER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Info:
    uuid: str
    name: str
    version: str
    api_version: int
    author: str
    description: str
    website: str
    plugins: tuple[tuple[str, str], ...]            # (platform, path)
    files: tuple[tuple[str, Optional[str]], ...]    # (path, platform or None)


@functools.lru_cache(maxsize=1)
def schema():
    import xmlschema  # imported on first use: it takes a few hundred milliseconds
    return xmlschema.XMLSchema10(str(SCHEMA_PATH))


def _token(text: Optional[str]) -> str:
    """xs:token's white space rule: trimmed, inner runs collapsed to one space."""
    return " ".join((text or "").split())


def parse_info(raw: bytes, fail) -> Info:
    """Parses info.xml safely and validates it; ``fail(code, text)`` raises."""
    import xml.etree.ElementTree as ET

    import defusedxml
    import defusedxml.ElementTree as SafeET

    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except defusedxml.DTDForbidden:
        fail("xml-dtd", "info.xml has a document type declaration (<!DOCTYPE>), which could "
             "define entities; packages may not use one")
    except defusedxml.EntitiesForbidden:
        fail("xml-entities", "info.xml declares entities; packages may not")
    except defusedxml.ExternalReferenceForbidden:
        fail("xml-external", "info.xml refers to an external resource; packages may not")
    except ET.ParseError as exc:
        fail("xml-syntax", f"info.xml is not well-formed XML ({exc})")
    except (ValueError, LookupError, UnicodeError) as exc:
        fail("xml-syntax", f"info.xml cannot be decoded ({type(exc).__name__})")

    if root.tag != "dcext":
        fail("xml-root", f"the root element of info.xml is <{_one_line(str(root.tag))}>, "
             "not <dcext>")
    children = list(root)
    counts: dict[str, int] = {}
    for child in children:
        tag = child.tag if isinstance(child.tag, str) else "?"
        if tag not in _ORDER:
            fail("xml-unknown", f"info.xml has an unknown element <{_one_line(tag)}> in "
                 "<dcext>")
        counts[tag] = counts.get(tag, 0) + 1
    for tag in _REQUIRED:
        if tag not in counts:
            fail("xml-missing", f"info.xml has no <{tag}>, which is required")
    for tag, n in counts.items():
        if n > 1 and tag != "Plugin":
            fail("xml-duplicate", f"info.xml has {n} <{tag}> elements; one is allowed")
    if "Plugin" not in counts:
        fail("xml-no-plugin", "info.xml names no <Plugin>; a package needs at least one")
    values = {c.tag: _token(c.text) for c in children if c.tag in _ORDER}
    if not is_guid(values["UUID"]):
        fail("xml-uuid", f"the UUID {_show(values['UUID'][:60])} in info.xml is not a GUID "
             "such as {f62ed829-def5-4332-a0d7-84d2ec692006}")
    if not _VERSION.fullmatch(values["Version"]):
        fail("xml-version", f"the Version {_show(values['Version'][:60])} in info.xml is not "
             "a decimal number such as 1.0 or 2.3")
    if not _INTEGER.fullmatch(values["ApiVersion"]):
        fail("xml-api-version", f"the ApiVersion {_show(values['ApiVersion'][:60])} in "
             "info.xml is not an integer")
    seen_platforms: set[str] = set()
    for element, what in [(c, "Plugin") for c in children if c.tag == "Plugin"] + \
            [(f, "File") for c in children if c.tag == "Files" for f in c]:
        if what == "File" and element.tag != "File":
            fail("xml-unknown", f"info.xml has an unknown element <{_one_line(str(element.tag))}>"
                 " in <Files>")
        platform = element.get("Platform")
        path = _show(_token(element.text)[:80])
        if platform is None:
            if what == "Plugin":
                fail("xml-platform", f"the <Plugin> {path} in info.xml has no Platform "
                     "attribute")
            continue
        if platform not in PLATFORMS:
            fail("xml-platform", f"the <{what}> {path} in info.xml has the unknown platform "
                 f"{_show(platform[:40])}; the platform codes are {_and(PLATFORMS)}")
        if what == "Plugin":
            if platform in seen_platforms:
                fail("xml-platform", f"info.xml has two <Plugin> elements for {platform}")
            seen_platforms.add(platform)

    try:
        error = next(iter(schema().iter_errors(root)), None)
    except Exception as exc:  # xmlschema failing on odd input is still a rejection
        fail("xml-schema", f"info.xml could not be checked against the dcext schema "
             f"({type(exc).__name__})")
    if error is not None:
        reason = _one_line(str(error.reason or error.message)).rstrip(".").replace(". ", "; ")
        fail("xml-schema", f"info.xml does not match the dcext schema at "
             f"{error.path or '/dcext'}: {reason}")

    api_version = int(values["ApiVersion"])
    if api_version != API_VERSION:
        rebuild = (f", and must be rebuilt against the API {API_VERSION} SDK (state numbers "
                   "and several tables changed)" if api_version < API_VERSION else "")
        fail("api-version", f"the package is built for plugin API version {api_version}; "
             f"this host speaks version {API_VERSION}{rebuild}")
    if float(values["Version"]) <= 0:
        fail("xml-version", "the Version in info.xml must be greater than 0")
    plugins = tuple((c.get("Platform"), _token(c.text)) for c in children if c.tag == "Plugin")
    files = tuple((_token(f.text), f.get("Platform"))
                  for c in children if c.tag == "Files" for f in c)
    return Info(uuid=values["UUID"], name=values["Name"], version=values["Version"],
                 api_version=api_version, author=values.get("Author", ""),
                 description=(next((c.text or "" for c in children if c.tag == "Description"),
                                   "")).strip(),
                 website=values.get("Website", ""), plugins=plugins, files=files)
