"""Round 10 of issue 14: a stop the message takes back, a condition's consequence said as a
whole clause, pronouns in phrases matched through lemmas, suggestions, names, negation runs,
predictions, and one-word goodbyes.

Each case closed or missed with the classifier before (main at cb5a071); the lexicon alone
decides them, so no semantic head is trained here.
"""

from __future__ import annotations

import pytest

from bot.intents import IntentClassifier

CASES = [
    # --- a stop before a close the message takes back is a "wait"
    # a stop before a close the message takes back is a "wait"
    ("stop, don't cancel", "en", "none"),
    ("cancel. no wait, don't cancel", "en", "none"),
    ("no, pará, no me des de baja que sí quiero los avisos", "es", "none"),
    # ...but a stop before more of the same still stops
    ("stop, I don't want to continue", "en", "cancel"),
    ("pará, no quiero seguir", "es", "cancel"),
    ("no, pará", "es", "cancel"),
    # --- a whole-clause stop right after a condition is its consequence
    # a whole-clause stop ("lo dejo") right after a condition is its consequence
    ("si tarda mucho, lo dejo", "es", "none"),
    ("si el arreglo sale más de 300 lucas, lo dejo, ¿cuánto sale?", "es", "none"),
    ("bueno, lo dejo", "es", "cancel"),
    # --- a phrase read through lemmas keeps its pronouns
    # "lo dejo" drops it; "los dejo" (through the lemma table, "lo" and "los" are one
    # lemma) leaves the people: the pronoun is kept as written
    ("si es caro, lo dejo", "es", "none"),
    ("bueno, los dejo", "es", "goodbye"),
    ("me ayudaste mucho, gracias", "es", "goodbye"),  # the same pronoun still matches
    ("vocês me ajudaram muito, valeu", "pt", "goodbye"),
    # --- one-word goodbyes and greetings
    ("g2g, thanks", "en", "goodbye"),
    ("I'm off now", "en", "goodbye"),
    ("I'm off to the dentist, can I reschedule?", "en", "none"),
    ("fui", "pt", "goodbye"),
    ("bom, fui", "pt", "goodbye"),
    ("fui ao banco ontem", "pt", "none"),
    ("resolvi ligando pra seguradora, mas obrigado mesmo assim. até", "pt", "goodbye"),
    ("até quando vai a promoção?", "pt", "none"),  # "até" in a sentence: until
    ("nao, so isso msm, brigado", "pt", "goodbye"),  # "msm": mesmo
    # --- a suggestion asks for the action
    # a suggestion asks for the action, like a polite request
    ("shall we stop here?", "en", "cancel"),
    ("bora parar? tô sem paciência", "pt", "cancel"),  # "bora" opens the phrase: no go-ahead
    ("que tal cancelar?", "pt", "cancel"),
    # ...a question about the action still does not
    ("vamos cancelar quando?", "pt", "none"),
    ("mind if i ask how to cancel?", "en", "none"),
    ("shall we continue?", "en", "none"),
    # --- only a capital that opens the phrase makes it a name
    ("ah tá bom então minha filha já entendi tudo obrigada viu fica com Deus", "pt", "goodbye"),
    ("tá certo moço vai com Deus", "pt", "goodbye"),
    ("me llamo Chao", "es", "none"),  # the phrase's first word: a name
    ("vivo en Chau Street", "es", "none"),
    # --- a run of negations stresses a phrase that holds its own
    # a run of negations stresses a phrase that holds its own (a voice transcript)
    ("no no no ya no quiero seguir con esto", "es", "cancel"),
    # one negation before it still negates it, and one before a plain phrase too
    ("no es que no quiera seguir", "es", "none"),
    ("no no quiero cancelar", "es", "none"),
    # --- "I'll end up cancelling" is a prediction
    # "I'll end up giving up" predicts a cancel; it asks for none
    ("desse jeito vou acabar desistindo de vocês, hein. resolve meu problema", "pt", "none"),
    ("voy a terminar cancelando todo si siguen así", "es", "none"),
    ("vou desistir", "pt", "cancel"),
]


@pytest.mark.parametrize(("text", "lang", "intent"), CASES)
def test_what_the_message_takes_back_or_means(
    trilingual: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert trilingual.classify(text, lang).intent == intent


@pytest.mark.parametrize(
    "text",
    ["si tarda mucho, lo dejo", "si el arreglo sale más de 300 lucas, lo dejo, ¿cuánto sale?"],
)
def test_a_condition_s_consequence_is_not_even_asked_about(
    trilingual: IntentClassifier, text: str
) -> None:
    assert trilingual.classify(text, "es").confirm is None
