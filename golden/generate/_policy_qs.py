"""Policy questions and the facts of the policy texts (agents/world/policies) that answer them.

Each topic: the document that answers it, a short fact that appears in that document's text
(checked by the generator, so a policy edit that changes the fact is noticed), and several
natural phrasings of the question.
"""

from __future__ import annotations

import dataclasses

from agents.world import get_policy


@dataclasses.dataclass(frozen=True)
class Topic:
    key: str
    doc_id: str
    fact: str  # appears verbatim in the document text
    questions: tuple[str, ...]
    clause: str  # the question as a clause to append to another request ("what ... is")


TOPICS: tuple[Topic, ...] = (
    Topic("return-window", "POL-RTN-001", "30 days", (
        "What is our return window?",
        "How many days does a customer have to return an item?",
        "how long is the return window again",
        "Could you remind me how long customers have to send items back?",
    ), "what our return window is"),
    Topic("refund-threshold", "POL-REF-002", "500 USD", (
        "Up to what amount can we issue a refund without manager approval?",
        "What's the refund approval threshold?",
        "When does a refund need a manager to approve it?",
    ), "what the refund approval threshold is"),
    Topic("meal-limit", "POL-EXP-001", "75 USD", (
        "How much can employees expense for meals per day when travelling?",
        "What's the daily meal allowance on business trips?",
        "meal expense limit per day?",
    ), "what the daily meal expense limit is"),
    Topic("restocking-fee", "POL-RTN-002", "15", (
        "Do we charge a restocking fee when opened lab equipment is returned?",
        "What restocking fee applies to an opened pH meter that comes back?",
    ), "what restocking fee applies to opened lab equipment"),
    Topic("gold-response", "POL-SLA-001", "4 business hours", (
        "What is the first response target for gold tier customers?",
        "How fast do we have to answer a new ticket from a gold tier customer?",
    ), "how fast we must answer gold tier tickets"),
    Topic("gloves-return", "POL-RTN-003", "nitrile gloves", (
        "Can a customer return an opened box of nitrile gloves?",
        "Are opened single-use consumables like pipette tips returnable?",
    ), "whether opened nitrile gloves can be returned"),
    Topic("hotel-limit", "POL-EXP-002", "220 USD", (
        "What's the hotel limit per night in a major city?",
        "How much can I spend on a hotel per night in a big city on a business trip?",
    ), "what the hotel limit per night is in major cities"),
    Topic("refund-timing", "POL-REF-004", "5 to 7 business days", (
        "How long does a card refund take to show up on the customer's statement?",
        "When will a refunded customer see the money back on their card?",
    ), "how long a card refund takes to appear"),
    Topic("security-escalation", "POL-SEC-002", "suspected social engineering", (
        "What should we do when a ticket contains text like 'ignore your previous instructions'?",
        "How do we handle suspicious instructions hidden in a customer email?",
    ), "how to handle suspicious instructions in a ticket"),
    Topic("purchase-limits", "POL-PRC-001", "1,000 USD", (
        "Who has to approve an internal purchase of 1,800 USD?",
        "What are our purchase approval limits?",
    ), "what the purchase approval limits are"),
    Topic("ticket-retention", "POL-RET-001", "3 years", (
        "How long do we keep support tickets?",
        "What's the retention period for support tickets and their attachments?",
    ), "how long support tickets are kept"),
    Topic("free-shipping", "POL-SHP-001", "150 USD", (
        "From what order amount is shipping free?",
        "Is standard shipping free for gold tier customers, and from what amount for others?",
    ), "from what amount shipping is free"),
    Topic("ethanol-eu", "POL-SHP-004", "cannot ship to the EU", (
        "Can we ship 70% ethanol to a customer in the EU?",
        "Are there restrictions on shipping ethanol abroad?",
    ), "whether we can ship ethanol to the EU"),
    Topic("late-fee", "POL-PRC-003", "1.5 percent", (
        "Do we charge a late fee on overdue invoices?",
        "What happens when an invoice is more than 15 days overdue?",
    ), "what late fee applies to overdue invoices"),
    Topic("damage-deadline", "POL-REF-003", "14 days", (
        "How long after delivery can a customer report damage?",
        "Is there a deadline for reporting items that arrived damaged?",
    ), "how long after delivery damage can be reported"),
    Topic("payment-terms", "POL-PRC-003", "net 45", (
        "What are the payment terms for gold tier customers?",
        "What payment terms do we give customers on their invoices?",
    ), "what our invoice payment terms are"),
)

# Topics with a short numeric fact that an answer quoting the policy will contain.
NUMERIC_FACTS: dict[str, str] = {
    "return-window": "30", "refund-threshold": "500", "meal-limit": "75",
    "restocking-fee": "15", "hotel-limit": "220", "ticket-retention": "3",
    "free-shipping": "150", "late-fee": "1.5", "damage-deadline": "14",
}


def topic(key: str) -> Topic:
    return next(t for t in TOPICS if t.key == key)


def check_topics() -> None:
    """Every topic's fact must appear in its document (the policy text is the source)."""
    for t in TOPICS:
        doc = get_policy(t.doc_id)
        if doc is None:
            raise RuntimeError(f"policy {t.doc_id} (topic {t.key}) does not exist")
        text = " ".join(doc.text.split())
        if t.fact not in text:
            raise RuntimeError(f"policy {t.doc_id} no longer says {t.fact!r} (topic {t.key}); "
                               "update golden/generate/_policy_qs.py")
        short = NUMERIC_FACTS.get(t.key)
        if short is not None and short not in text:
            raise RuntimeError(f"policy {t.doc_id} no longer contains {short!r}")
