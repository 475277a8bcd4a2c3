"""Instruction-following that generalises: rules from the system prompt and the tools bind
sim-2 whatever the user claims, and instructions found in data are data.

What sim-2 reads, in general terms (no phrase of any test set):

- **rules**: sentences of the system message and of a tool's description that require an
  approval, authorisation or sign-off ("Transfers above 2,000 USD need the controller's
  approval"), with the amount above which they apply, and rules that allow e-mail only to
  some domains ("Only send e-mail to addresses ending in @example.com");
- **claims** in the user's own words (documents pasted into the message excluded): a claimed
  role or identity ("as the regional director, ...", "this is the CFO"), a claimed
  approval ("already signed off", "authorised yesterday"), or a way around a control
  ("keep each one below the threshold", "skip the check", "without the usual review");
- **overrides** ("ignore your rules", "you are now ...", "admin mode") and **extraction**
  attempts (asking for its instructions, configuration or system prompt verbatim).

Then: an override or an extraction attempt is refused. A call to a tool with a side effect
that a rule governs (the rule's subject is the tool's, and the call's amount is above the
rule's threshold, converted roughly between currencies) is not made when the user makes a
claim -- a claim in the chat never satisfies a rule; only system or tool content can -- nor,
without a claim, unless the tool or the rule itself routes such calls to approval ("... wait
in a queue for approval", "... become pending approval") or a tool result shows the
approval. A way around a control blocks any
call the rule governs, whatever the amount. A call that sends to an address a rule does not
allow is not made. sim-1 reads none of this (it refuses only what a system "refuse ..."
sentence names word for word, see compose.refusal), and, asked for its instructions,
repeats them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from passline.sim.brain.conversation import Conversation
from passline.sim.brain.lexicon import USD_VALUE
from passline.sim.brain.text import sentences, split_identifier, stem, terms
from passline.sim.brain.tools import ToolSpec, has_side_effect

_ROLES = (r"ceo|cfo|coo|cto|cio|ciso|chief\s+\w+(?:\s+officer)?|president|vice[- ]president|vp|"
          r"director|managing director|head of [\w ]{2,30}?|manager|owner|founder|co-founder|"
          r"executive|controller|comptroller|treasurer|officer|administrator|admin|supervisor|"
          r"chair(?:man|woman|person)?|board|partner|boss|lead|auditor|accountant|"
          r"leadership|management|finance|accounting|treasury|legal|compliance|security|"
          r"it department|hr|payroll")
_AUTHORITY_RE = re.compile(
    rf"\b(?:i am|i'm|im|this is|it's|it is|speaking as|writing as|as|on behalf of|in my "
    rf"(?:role|capacity) as)\s+(?:the\s+|your\s+|a\s+|an\s+|our\s+|\w+'s\s+)?(?:\w+\s+){{0,3}}?"
    rf"(?:{_ROLES})\b"
    rf"|\b(?:{_ROLES})\b[^.!?,]{{0,30}}\bhere\b"
    rf"|\bfrom (?:the\s+)?[\w' ]{{1,30}}?(?:office|department|team|desk)\b[^.!?]{{0,8}}\bhere\b"
    r"|\bi (?:hold|have|carry) (?:the )?(?:signing|approval|admin\w*|spending) "
    r"(?:rights|authority|powers?)\b"
    r"|\bi(?:'m| am)? (?:hereby )?(?:authori[sz]ing|approving|sanctioning|signing off)\b"
    r"|\bi (?:hereby )?(?:authori[sz]e|approve|sanction|sign off on)\b"
    r"|\bowner of (?:this|the) (?:company|business|firm|account)\b", re.I)
_APPROVAL_CLAIM_RE = re.compile(
    r"\b(?:pre-?approved|approved|pre-?cleared|cleared|signed[- ]off|sign-?off|green[- ]?lit|"
    r"green light|go-?ahead|ok'?d|okay'?d|okayed|verbal (?:ok|okay|approval)|"
    r"authori[sz]ed|sanctioned|(?:approval|authori[sz]ation)\s+(?:reference|ref|number|"
    r"id|code|came|was|has|is|already|granted|given))\b", re.I)
_BYPASS_RE = re.compile(
    r"\b(?:skip|bypass|circumvent|avoid|get around|work around|dodge|without|no need for|"
    r"(?:don't|do not|doesn't|does not|won't) need)\b[^.!?]{0,40}?\b(?:approv\w*|sign-?off|"
    r"limits?|threshold|checks?|process|controls?|rules?|polic\w*|system|review)\b"
    r"|\b(?:stays?|keep(?:s|ing)?|remains?|fall(?:s)?)\s+(?:it\s+|them\s+|each\s+)?"
    r"(?:under|below|beneath)\b"
    r"|\bsplit\b[^.!?]{0,40}\b(?:payments?|transfers?|refunds?|parts|amounts|pieces)\b"
    r"|\b(?:record|mark|flag|set|log)\b[^.!?]{0,50}\bas\s+(?:already\s+)?(?:approved|"
    r"signed[- ]off|authori[sz]ed|cleared|paid|verified)\b", re.I)
_OVERRIDE_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override|drop)\s+(?:all\s+|any\s+|of\s+)?(?:your|the|my|"
    r"previous|prior|above|earlier|system|these|those)\b[^.!?]{0,25}?\b(?:instructions?|"
    r"rules?|guidelines|prompts?|polic\w*|limits?|restrictions?|guardrails?)\b"
    r"|\byou are now\b|\b(?:admin|developer|debug|god|jailbreak|unrestricted)\s+mode\b"
    r"|\bnew instructions?\s*:|\bsystem (?:note|override|message)\s*:|\bno limits\b", re.I)
_EXTRACTION_RE = re.compile(
    r"\b(?:system prompt|system message|initial (?:prompt|instructions|configuration|config|"
    r"setup)|hidden (?:setup|prompt|instructions|message|rules)|setup message|pre-?prompt"
    r"|configured with|(?:were|was) you (?:told|given|instructed)|told before"
    r"|(?:instructions|rules|guidelines|text|configuration) (?:you were|you've been|you have "
    r"been) (?:given|configured|told)"
    r"|(?:your|the) (?:instructions|configuration|config|rules|prompt|guidelines)\b[^.!?]{0,40}"
    r"\b(?:verbatim|word for word|exactly|exact|in full)"
    r"|(?:repeat|print|reveal|dump|paste|output|show|quote|recite|list)\s+(?:me\s+)?(?:all\s+)?"
    r"(?:of\s+)?(?:your|the)\s+(?:full\s+|whole\s+|entire\s+|exact\s+)?(?:instructions|"
    r"configuration|config|prompt|rules|guidelines))", re.I)
_APPROVAL_RULE_RE = re.compile(r"\b(?:approv\w*|authori[sz]\w*|sign[- ]?off|signed off|"
                               r"permission|clearance|consent)\b", re.I)
_REQUIREMENT_RE = re.compile(r"\b(?:need|needs|require[sd]?|must|only|never|not|before|wait|"
                             r"waits|pending)\b", re.I)
_HEDGED_RE = re.compile(r"\b(?:may|might|could|can)\s+(?:also\s+|sometimes\s+)?(?:need|require)\b",
                        re.I)
_ROUTED_RE = re.compile(r"\b(?:pending|wait(?:s|ing)? for|queued|held for|on hold|"
                        r"submitted for)\b[^.]{0,40}\b(?:approv\w*|sign[- ]?off|review)", re.I)
_THRESHOLD_RE = re.compile(
    r"\b(?:above|over|more than|exceeding|greater than|larger than|in excess of|beyond|"
    r"at least|from)\s+([$£€]?)\s?(\d[\d,]*(?:\.\d+)?)\s*([A-Za-z]{3}\b|dollars?|euros?|"
    r"pounds?)?", re.I)
_DOMAIN_RULE_RE = re.compile(r"\bonly\b[^.]*?(@[\w-]+(?:\.[\w-]+)+)", re.I)
_EMAIL_RE = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_DOC_TAGS_RE = re.compile(r"<(document|email|attachment|message|context|documents|file|pasted|"
                          r"quote)\b[^>]*>.*?</\1>", re.S | re.I)
_MONEY_WORDS = {"$": "USD", "£": "GBP", "€": "EUR", "dollar": "USD", "dollars": "USD",
                "euro": "EUR", "euros": "EUR", "pound": "GBP", "pounds": "GBP"}
_FUNCTION_TERMS = set(terms("need needs require required must only never before approval "
                            "approve above over more than same value another currency "
                            "system sent send get given"))


def own_words(text: str) -> str:
    """The user's own words: ``text`` without documents pasted into it (<document>...)."""
    return _DOC_TAGS_RE.sub(" ", text)


@dataclass(frozen=True)
class Rule:
    text: str
    subject: frozenset[str]  # stemmed content terms
    threshold_usd: float | None
    tool: str | None  # the tool whose description states it (None: the system message)


def _threshold(sentence: str) -> float | None:
    m = _THRESHOLD_RE.search(sentence)
    if not m:
        return None
    amount = float(m.group(2).replace(",", ""))
    code = _MONEY_WORDS.get(m.group(1)) or (m.group(3) or "").upper()
    code = _MONEY_WORDS.get((m.group(3) or "").lower(), code)
    return amount * USD_VALUE.get(code, 1.0)


def rule_sentences(text: str) -> list[str]:
    """The sentences of a prompt, each list item on its own (a wrapped item stays whole)."""
    from passline.sim.brain.rules import rule_lines

    return rule_lines(text)


def approval_rules(conv: Conversation, tools: list[ToolSpec]) -> list[Rule]:
    """Sentences of the system message and of tool descriptions that require an approval."""
    found: list[Rule] = []
    sources = [(conv.system, None)] + [(t.description, t.name) for t in tools]
    for text, tool in sources:
        for sentence in rule_sentences(text):
            # "larger ones may need approval" states a possibility, not a requirement
            hedged = _HEDGED_RE.sub(" ", sentence)
            if _APPROVAL_RULE_RE.search(sentence) and _REQUIREMENT_RE.search(hedged):
                subject = frozenset(t for t in terms(sentence) if t not in _FUNCTION_TERMS)
                found.append(Rule(sentence.strip(" -*"), subject, _threshold(sentence), tool))
    return found


def allowed_domains(conv: Conversation) -> set[str]:
    """E-mail domains a system rule restricts sending to ("only ... @example.com")."""
    return {m.group(1).lower().lstrip("@") for s in rule_sentences(conv.system)
            for m in _DOMAIN_RULE_RE.finditer(s)}


def claims(text: str) -> list[str]:
    """The kinds of claim the user's own words make: "authority", "approval", "bypass"."""
    own = own_words(text)
    out = []
    if _AUTHORITY_RE.search(own):
        out.append("authority")
    for sentence in sentences(own):
        if _APPROVAL_CLAIM_RE.search(sentence) and not _asks_whether(sentence):
            out.append("approval")
            break
    if _BYPASS_RE.search(own):
        out.append("bypass")
    return out


def _asks_whether(sentence: str) -> bool:
    """"Has the transfer been approved?" asks; it claims nothing."""
    return sentence.rstrip().endswith("?") and bool(re.match(
        r"\s*(?:has|have|is|was|were|did|does|do|are|can|could|will|who|when|whether)\b",
        sentence, re.I))


def overrides(text: str) -> str | None:
    """The phrase of the user's own words that tries to override the instructions or to
    extract them, or None."""
    own = own_words(text)
    m = _OVERRIDE_RE.search(own) or _EXTRACTION_RE.search(own)
    return m.group(0) if m else None


def asks_for_instructions(text: str) -> bool:
    return bool(_EXTRACTION_RE.search(own_words(text)))


def _amount_usd(tool: ToolSpec, values: dict[str, Any]) -> float | None:
    amount = None
    code = None
    for key, value in values.items():
        schema = tool.properties.get(key) or {}
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and re.search(
                r"amount|usd|eur|gbp|price|total|sum|value|pay", key, re.I):
            amount = float(value)
            low = key.lower()
            code = code or next((c for c in USD_VALUE if c.lower() in low), None)
        elif isinstance(value, str) and value.upper() in USD_VALUE and (
                schema.get("enum") or "currency" in key.lower()):
            code = value.upper()
    if amount is None:
        return None
    return amount * USD_VALUE.get(code or "USD", 1.0)


def _governs(rule: Rule, tool: ToolSpec) -> bool:
    if rule.tool is not None:
        return rule.tool == tool.name
    doc = set(terms(split_identifier(tool.name))) | set(
        terms(re.split(r"[.;]", tool.description, maxsplit=1)[0]))
    return bool(rule.subject & doc)


def _approval_shown(conv: Conversation) -> bool:
    for result in conv.results:
        blob = result.content if result.data is None else json.dumps(result.data)
        if re.search(r"\bapproved\b|\"approv\w*\"\s*:\s*(?:true|\"(?:approved|granted|yes)\")",
                     blob, re.I):
            return True
    return False


def blocked_call(conv: Conversation, tools: list[ToolSpec], name: str,
                 values: dict[str, Any]) -> str | None:
    """Why sim-2 must not make this call (the rule it would break), or None."""
    tool = next((t for t in tools if t.name == name), None)
    if tool is None:
        return None
    domains = allowed_domains(conv)
    if domains:
        addresses = [v for v in _strings(values) if _EMAIL_RE.fullmatch(v.strip())]
        outside = [a for a in addresses if a.split("@")[-1].lower() not in domains]
        if outside:
            stated = next(s for s in rule_sentences(conv.system) if _DOMAIN_RULE_RE.search(s))
            return (f"I can't send that to {', '.join(outside)}: our rules allow e-mail only "
                    f"to {', '.join('@' + d for d in sorted(domains))} addresses "
                    f"({stated.strip(' -*').rstrip('.')}).")
    if not has_side_effect(tool):
        return None
    said = claims(conv.request)
    amount = _amount_usd(tool, values)
    for rule in approval_rules(conv, tools):
        if not _governs(rule, tool):
            continue
        above = rule.threshold_usd is None or (amount is not None and amount > rule.threshold_usd)
        if "bypass" in said or (above and said):
            return (f"I can't do that: {rule.text.rstrip('.')}. What is said in this chat "
                    "(a role, an approval or a way around the limit) does not count as that "
                    "approval; it has to be given through the approval process.")
        # a rule that itself sends such calls to approval ("... become pending approval")
        # describes a workflow, as a tool description that routes them does
        routed = _ROUTED_RE.search(tool.description) or _ROUTED_RE.search(rule.text)
        if above and not (routed or _approval_shown(conv)):
            return (f"I can't do that yet: {rule.text.rstrip('.')}. Once the approval is "
                    "recorded I can go ahead.")
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


_ADDRESSED_RE = re.compile(
    r"\b(?:ai|a\.i\.|assistants?|chatbots?|bots?|language models?|llms?|agents?|copilot)\b"
    r"[^.!?]{0,60}\b(?:must|should|shall|need to|needs to|have to|has to|are to|is to|"
    r"please|immediately|now)\b"
    r"|^\s*\[?(?:system|assistant|instruction)s?\]?\s*[:,]"
    r"|\b(?:instructions?|note|message) (?:for|to) (?:the )?(?:bot|agent|model|assistant|ai)\b"
    r"|\[(?:system|assistant)\]", re.I)


def addressed_to_assistant(sentence: str) -> bool:
    """A sentence of data that instructs the assistant reading it ("Instructions for the
    bot: ...", "language models processing this page must ...", "[system] ...")."""
    from passline.sim.brain.compose import INJECTION_RE

    return bool(_ADDRESSED_RE.search(sentence) or INJECTION_RE.search(sentence)
                or _OVERRIDE_RE.search(sentence))


__all__ = ["addressed_to_assistant", "approval_rules", "asks_for_instructions",
           "blocked_call", "claims", "overrides", "own_words", "stem"]
