"""Issue 14: polite requests, business-object cancels, opt-out, several intents, the question
when unsure. Each case failed on the classifier before (main at c07d1b0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import DataFileError
from bot.intents import IntentClassifier
from bot.intents.evaluation import evaluate
from bot.intents.labelled import load_labelled

REPO = Path(__file__).resolve().parents[2]
INTENTS = REPO / "intents"


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier.from_directory(INTENTS, ("es", "en"))


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        # A polite request phrased as a question asks for the action...
        ("could you cancel this for me?", "en", "cancel"),
        ("¿me lo cancelás?", "es", "cancel"),
        ("¿podrías frenar todo?", "es", "cancel"),
        ("is it alright if we end this here?", "en", "cancel"),  # the "if" of an opener asks
        ("¿te molestaría si lo frenamos acá?", "es", "cancel"),
        ("could you perhaps drop all of this?", "en", "cancel"),
        ("would you mind if we stopped here?", "en", "cancel"),  # wished for, not reported
        ("¿me cancelás lo que empezamos?", "es", "cancel"),  # what was started: context
        ("sabés qué, no da, lo dejamos", "es", "cancel"),  # "lo dejamos" as a whole clause
        ("lo dejamos en la puerta", "es", "none"),
        ("would you mind if i cancelled my order yesterday", "en", "none"),  # a past time
        # ...a question about the action does not.
        ("can I cancel later?", "en", "none"),
        ("is it ok if i cancel later?", "en", "none"),  # nor does it ask for the goodbye "later"
        ("is it possible to cancel afterwards?", "en", "none"),
        ("out of curiosity how do people usually opt out", "en", "none"),  # a filler first
        ("¿es posible cancelar más adelante?", "es", "none"),
        # "pará" / "para" alone is a stop, as a whole clause too; in a sentence it is "for"
        ("pará", "es", "cancel"),
        ("bueno, para ya", "es", "cancel"),
        ("no entendés nada, pará", "es", "cancel"),
        ("para mañana", "es", "none"),
        ("no, pará, no canceles nada", "es", "none"),  # "wait", beside an anti-example
        # unwillingness to go on, the negation part of the phrase
        ("i'd prefer not to go on", "en", "cancel"),
        ("ya no tengo ganas de responder", "es", "cancel"),
        ("no voy a responder eso", "es", "none"),  # declining one question is no cancel
        # a typo corrected in another language than the words' is no evidence ("aló")
        ("thanks! also, do you ship to canada?", "en", "none"),
        # other senses: "let me think it over" is no cancel
        ("mmm, dejame pensarlo bien", "es", "none"),
        ("let me think it over", "en", "none"),
        ("can you tell me how to cancel?", "en", "none"),
        ("¿qué pasa si cancelo?", "es", "none"),
        # Business objects: an order goes to the author's intent, the rest is not a close.
        ("cancel my order 4411", "en", "cancel_order"),
        ("cancelá el pedido 5521", "es", "cancel_order"),
        ("I have to cancel my booking for Friday", "en", "none"),
        ("quiero anular mi turno del sábado", "es", "none"),
        ("cancela la suscripción premium", "es", "none"),
        # Opt-out is not cancel; a lone STOP in capitals is the SMS keyword.
        ("stop sending me messages", "en", "opt_out"),
        ("dame de baja", "es", "opt_out"),
        ("no me manden más mensajes", "es", "opt_out"),
        ("STOP", "en", "opt_out"),
        ("stop", "en", "cancel"),
        ("how do I unsubscribe?", "en", "none"),
        # Closings without a closing word, well-being greetings, idioms.
        ("appreciate it, I'm all set", "en", "goodbye"),
        ("con eso me quedo, mil gracias", "es", "goodbye"),
        ("how's everything going?", "en", "greet"),
        ("¿qué tal todo por allá?", "es", "greet"),
        ("ya fue", "es", "cancel"),
        ("bórralo todo", "es", "cancel"),
    ],
)
def test_what_users_send_beyond_the_word_lists(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert classifier.classify(text, lang).intent == intent


def test_a_greeting_and_a_trigger_are_both_ranked(classifier: IntentClassifier) -> None:
    result = classifier.classify("hola, quiero una prueba gratis", "es")

    assert result.intent == "request_trial"
    assert [name for name, _ in result.ranked] == ["request_trial", "greet"]


def test_a_weak_close_is_asked_about_not_acted_on(classifier: IntentClassifier) -> None:
    result = classifier.classify("ok so I guess that is it", "en")  # 0.67: below 0.75

    assert (result.intent, result.confirm) == ("none", "goodbye")
    assert classifier.classify("Stop Street 5", "en").confirm is None  # 0.33: below the floor
    in_flow = classifier.classify("ok so I guess that is it", "en", expecting_free_text=True)
    # asked for a name, a weak close is asked about rather than stored as the answer
    assert (in_flow.intent, in_flow.confirm) == ("none", "goodbye")
    assert classifier.classify("Stop Street 5", "en", expecting_free_text=True).confirm is None


def test_the_loader_reads_also_and_eval_measures_it(tmp_path: Path) -> None:
    path = tmp_path / "multi.jsonl"
    lines = [
        {"text": "hola, quiero una prueba", "intent": "request_trial", "lang": "es",
         "also": ["saludo"], "tags": ["multi"]},
        {"text": "cancel my booking", "intent": "none", "lang": "en",
         "tags": ["business_cancel"]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    messages = load_labelled(path)
    classifier = IntentClassifier.from_directory(INTENTS, ("es", "en"))

    report = evaluate(messages, lambda m: classifier.classify(m.text, m.lang))

    assert messages[0].also == ("greet",)
    assert (report.also_found, report.also_total) == (1, 1)
    assert (report.business_closes, report.business_total) == (0, 1)


def test_also_must_name_intents(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "x", "intent": "greet", "lang": "en", "also": "greet"}\n')

    with pytest.raises(DataFileError, match="'also' must be a list"):
        load_labelled(path)


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        # The clause after a conditional one is its consequence: hypothetical, not a close.
        ("si me sale muy caro, cancelo", "es", "none"),
        ("if the price goes up, I quit", "en", "none"),
        # ...not a filler's "if", which is politeness: a polite request for the close.
        ("si no te molesta, cancelá todo", "es", "cancel"),
        ("let's stop here, if that's alright with you", "en", "cancel"),
        ("if you don't mind, cancel it", "en", "cancel"),
        ("si no me contestás, cancelo", "es", "none"),  # a condition all the same
        ("si no llega el domingo, bueno, cancelo", "es", "none"),  # fillers between
        ("if it doesn't work by friday, well, i quit", "en", "none"),
        # A closing word after a verb of typing or saying is mentioned, not said, and so is
        # a close that refers back to it ("ignore that").
        ("my son typed cancel by mistake, ignore that", "en", "none"),
        ("mi hijo escribió cancelar sin querer", "es", "none"),
        ("she said bye to the courier", "en", "none"),
        # An order number in groups is one number; "no." before it abbreviates "number".
        ("cancele la orden número 10-4432 por favor", "es", "cancel_order"),
        ("Kindly cancel my order no. 55-1023", "en", "cancel_order"),
        # A goodbye in a clause of its own is said, whatever the clause before supposed.
        ("if i need anything else i'll write. thanks, bye", "en", "goodbye"),
        ("si necesito algo te escribo. chau", "es", "goodbye"),
        ("si, cancelá todo", "es", "cancel"),  # "sí" typed without its accent: no condition
        # A goodbye is about a business object that follows it closely, not one the user
        # thanks for before it (a voice transcript has no commas).
        (
            "ok the technician came and the line works so we're sorted thanks goodbye",
            "en",
            "goodbye",
        ),
        ("that's all for the booking", "en", "none"),
        # Correcting a value stops to correct it, not the chat.
        ("stop, the address is wrong, it's 5 main st", "en", "none"),
        ("pará, la dirección está mal, es Rivadavia 200", "es", "none"),
        # A closing verb that completes a negated phrase is what the user does not want...
        ("no me interesa cancelar", "es", "none"),
        ("not interested in cancelling, i just want to change the address", "en", "none"),
        # ...while the phrase alone, or a close after a comma, still closes.
        ("no me interesa", "es", "cancel"),
        ("no me interesa, cancelá", "es", "cancel"),
        ("never mind forget it", "en", "cancel"),
        # An opt-out put off is no opt-out now.
        ("a fin de mes me doy de baja, ahora necesito el horario", "es", "none"),
        ("i'll unsubscribe next month, now i need the schedule", "en", "none"),
        ("dame de baja", "es", "opt_out"),
        # A deferral said as the future: "more ahead".
        ("lo cancelo más adelante", "es", "none"),
        ("i'll cancel it later on", "en", "none"),
        # A business object in another clause is what "cancel it" is about: no close.
        ("the booking for friday, cancel it", "en", "none"),
        ("ya no quiero el pedido, cancelalo", "es", "cancel_order"),  # an order: its intent
        ("cancel it, thanks", "en", "cancel"),
        # A negation word inside another phrase of the same intent does not negate it.
        ("nvm, forget it", "en", "cancel"),
        ("never mind forget it", "en", "cancel"),
        # ...a real one still does.
        ("don't forget it", "en", "none"),
        # A "no" before a phrase the intent says again after it is an interjection...
        ("no stop stop please", "en", "cancel"),
        ("no no stop i don't want to do this anymore", "en", "cancel"),
        # ...not where every phrase of the intent is negated (overlapping phrases are one).
        ("no stop", "en", "none"),
        ("no, no quiero cancelar nada", "es", "none"),
        ("i don't want to stop", "en", "none"),
    ],
)
def test_conditions_and_negations_read_across_phrases(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert classifier.classify(text, lang).intent == intent


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        # A stop verb of the family with the conversation as its object is a cancel...
        ("let's abandon the whole process", "en", "cancel"),
        ("ok, shut it down", "en", "cancel"),
        ("suspendé el trámite, porfa", "es", "cancel"),
        # ...with a business object it is not; with an order it is the order flow's intent.
        ("abandon my booking", "en", "none"),
        ("scrap the order please", "en", "cancel_order"),
        ("borrá mi pedido", "es", "cancel_order"),
        # Gratitude and a completion state close without a closing word.
        ("great, I'm all sorted, thanks", "en", "goodbye"),
        ("nope, i'm good, cheers", "en", "goodbye"),  # declining more, "no" first
        ("i'm not fine", "en", "none"),
        # what an assistant command acts on is not the conversation
        ("skip this song, it's rubbish", "en", "none"),
        ("stop the recording", "en", "none"),
        ("stop this", "en", "cancel"),
        # a shouted contraction without its apostrophe still negates
        ("DONT CANCEL THE ORDER PLS", "en", "none"),
        ("I DONT WANT TO CONTINUE", "en", "cancel"),
        # a correction that names the new value, not a cancel
        ("scratch that, make it 3 pizzas", "en", "none"),
        ("sorry, wrong number, cancel", "en", "cancel"),
        ("that was everything I needed, cheers", "en", "goodbye"),
        ("listo, ya tengo todo, mil gracias", "es", "goodbye"),
        ("eso sería todo, gracias genia", "es", "goodbye"),
        # A stop verb with the messages as its object is an opt-out.
        ("cease the marketing messages", "en", "opt_out"),
        ("paren de mandarme publicidad", "es", "opt_out"),
    ],
)
def test_frames_generalize_beyond_listed_phrases(
    classifier: IntentClassifier, text: str, lang: str, intent: str
) -> None:
    assert classifier.classify(text, lang).intent == intent


ROUND_12 = [
    # (text, lang, intent): round 12's rules, lexicon only (docs/intents.md, "Round 12")
    # A close shortly after a subordinator is the background of what is asked...
    ("antes de cancelar meu outro streaming quero testar o de vcs", "pt", "request_trial"),
    ("antes de cancelar mi plan actual quiero la prueba gratis", "es", "request_trial"),
    ("before i cancel my current plan, i want to try yours for free", "en", "request_trial"),
    ("can i pause it instead of cancelling?", "en", "none"),
    ("tem como pausar em vez de cancelar?", "pt", "none"),
    ("¿puedo congelar la cuota en lugar de darme de baja?", "es", "none"),
    # ...one after the close is not: it says when to do it.
    ("cancelá el pedido antes de que salga, porfa", "es", "cancel_order"),
    ("cancela o pedido antes de enviar", "pt", "cancel_order"),
    ("please cancel the order before it ships", "en", "cancel_order"),
    # A report that ends with thanks closes: the user got what they came for...
    ("the beans arrived and they smell incredible, thank you", "en", "goodbye"),
    ("o livro chegou, amei o embrulho, obrigada", "pt", "goodbye"),
    ("los muebles ya están armados y quedaron preciosos, gracias", "es", "goodbye"),
    ("ya tengo las entradas en el mail, todo bien. gracias!", "es", "goodbye"),  # not greet
    # ...a request, a question, a wait, a name or thanks alone do not.
    ("pode confirmar o agendamento para as 14h, obrigada", "pt", "none"),
    ("the beans arrived, can you send more? thanks", "en", "none"),
    ("un momento que busco el código, gracias", "es", "none"),
    ("soy Martín Pérez, gracias", "es", "none"),
    ("ok, gracias", "es", "none"),
    # "No more" of the messages a business sends opts out...
    ("thanks for the glasses, but please don't send me offers anymore", "en", "opt_out"),
    ("no more parking offers please", "en", "opt_out"),
    ("ya volvimos del viaje, no necesito más mensajes de la agencia", "es", "opt_out"),
    ("no me manden mas promos", "es", "opt_out"),
    ("olá! gostaria de não receber mais as ofertas do buffet", "pt", "opt_out"),
    ("buenas, no quiero recibir más mensajes de la heladería", "es", "opt_out"),  # raised
    # ...asked about, reported, or without the messages, it does not.
    ("¿qué tengo que escribir para no recibir más mensajes?", "es", "none"),
    ("i said stop last week and then got 3 more texts", "en", "none"),
    ("no quiero más azúcar en el café", "es", "none"),
    ("no thanks, nothing more", "en", "goodbye"),
    # What the chat has been putting together (a quote, a form) is the process a stop ends...
    ("esquece aquele orçamento que eu comecei", "pt", "cancel"),
    ("olvidate de la cotización que estábamos armando", "es", "cancel"),
    ("stop the estimate you were putting together", "en", "cancel"),
    # ...while a question about it is none.
    ("o orçamento que você tá montando inclui frete?", "pt", "none"),
    ("¿la cotización incluye IVA?", "es", "none"),
    # More polite openers ask for the action...
    ("será que dá pra parar por aqui?", "pt", "cancel"),
    ("você se importaria de parar com isso?", "pt", "cancel"),
    ("any chance we could stop here?", "en", "cancel"),
    ("¿te molestaría que lo dejemos acá?", "es", "cancel"),
    ("vc se incomoda se a gente parar por aqui?", "pt", "cancel"),
    ("¿sería tan amable de frenar esto?", "es", "cancel"),
    ("¿serían tan amables de decirme el horario?", "es", "none"),
    # ...and what a request opener asks for may be "what we started"...
    ("can you cancel what we started?", "en", "cancel"),
    ("¿me cancelás lo que empezamos?", "es", "cancel"),
    # ...but a question word about when or how still asks about it, and a deferral defers.
    ("can you tell me how to cancel?", "en", "none"),
    ("dá pra cancelar quando quiser?", "pt", "none"),
    ("será que dá pra cancelar depois?", "pt", "none"),
    ("any chance we can cancel later?", "en", "none"),
    # A past-time word right after the order is placed dates the order, not the cancel...
    ("cancel the lamp i ordered yesterday please", "en", "cancel_order"),
    ("cancela o pedido que eu fiz ontem", "pt", "cancel_order"),
    ("quiero cancelar el pedido que hice esta mañana", "es", "cancel_order"),  # not tomorrow
    # ...one before it dates the asking, and a deferral still defers.
    ("eu pedi pra cancelar ontem e nada", "pt", "none"),
    ("cancelá el pedido mañana", "es", "none"),
    ("i cancelled the order yesterday", "en", "none"),
    # A vocative adds nothing: Venezuelan "chamo" is no misspelled "chao"
    ("hola chamo, ¿cómo estás?", "es", "greet"),
    ("qué más parcero, todo bien?", "es", "greet"),
    ("chao chamo", "es", "goodbye"),
]


@pytest.mark.parametrize(("text", "lang", "intent"), ROUND_12)
def test_round_12_rules(trilingual: IntentClassifier, text: str, lang: str, intent: str) -> None:
    assert trilingual.classify(text, lang).intent == intent


ROUND_13 = [
    # (text, lang, intent, confirm): round 13's rules (docs/intents.md, "Round 13")
    # An opt-out beside another way to reach the user asks for other messages: asked about...
    ("chega de sms, manda o código por email", "pt", "none", "opt_out"),
    ("para de me mandar mensagem no fixo, me chama só pelo zap", "pt", "none", "opt_out"),
    ("basta de promos, mándenme solo la factura", "es", "none", "opt_out"),
    ("no more texts please, email me instead", "en", "none", "opt_out"),
    ("para de me mandar mensagem por sms, manda no whatsapp mesmo", "pt", "none", "opt_out"),
    # ...while in the opt-out's own clause they say which messages stop, and negated they
    # refuse those too.
    ("para de me mandar promoções por email", "pt", "opt_out", None),
    ("stop texting me, and don't call me either", "en", "opt_out", None),
    ("dejen de escribirme, no me llamen tampoco", "es", "opt_out", None),
    # An imperfect reports what was going on; a modal's imperfect still asks.
    ("me olvidaba de preguntar, ¿abren los domingos?", "es", "none", None),
    ("quería cancelar, por favor", "es", "cancel", None),
    ("queria cancelar por favor", "pt", "cancel", None),
    # Chat shorthand for "después" defers like the word.
    ("dsp me doy de baja, ahora no", "es", "none", None),
    ("dps cancelo, ahora sigo", "es", "none", None),
]


ROUND_14 = [
    # (text, lang, intent, confirm): round 14's rules (docs/intents.md, "Round 14")
    # Thanks after an instruction to the business are for doing it, no goodbye...
    ("leave the parcel with security, thanks", "en", "none", None),
    ("dejala en la puerta del edificio, gracias!", "es", "none", None),
    ("deixa com o porteiro do prédio, obrigado", "pt", "none", None),
    ("entreguem as flores na portaria, obrigada", "pt", "none", None),
    ("deliver it by 4pm please, the gate man will collect, thanks", "en", "none", None),
    # ...while a report ending with thanks still says goodbye.
    ("the courier left it with security, thanks", "en", "goodbye", None),
    ("el pedido llegó a la portería, gracias", "es", "goodbye", None),
]

ROUND_15 = [
    # (text, lang, intent, confirm): round 15's rules (docs/intents.md, "Round 15")
    # An instruction after a fronted object or time is one too...
    ("el paquete dejalo con el guardia del edificio, gracias", "es", "none", None),
    ("o presente deixa com o porteiro, obrigada", "pt", "none", None),
    ("el viernes entreguen temprano, gracias", "es", "none", None),
    # ...a report of what happened to it is not
    ("el paquete llegó con el guardia del edificio, gracias", "es", "goodbye", None),
    # What the user ordered is a business object of the order cancel...
    ("la caja de vinos que pedí, cancélenla", "es", "cancel_order", None),
    ("a pipoca que eu pedi, cancela", "pt", "cancel_order", None),
    # ...what the user asked the bot for is not
    ("olvidá lo que te pedí, cancelá", "es", "cancel", None),
    # A guard word inside another of the intent's phrases guards nothing...
    ("okay cancel that cancel cancel", "en", "cancel", None),
    ("não tá bom era só isso mesmo obrigada moça tchau", "pt", "goodbye", None),
    # ...outside one it still does
    ("cancel only the fries", "en", "none", None),
    ("the stop button on my order page is broken", "en", "none", None),
]

ROUND_16 = [
    # (text, lang, intent, confirm): round 16's business objects (docs/intents.md, "Round 16")
    # A visit or service booked with the business is one...
    ("cancel tmrw's 9am pickup, snowstorm", "en", "none", None),
    ("please cancel my weekly cleaning", "en", "none", None),
    ("ya no voy a la entrevista, cancélenla", "es", "none", None),
    ("por favor cancelen la instalación del jueves", "es", "none", None),
    ("vou viajar, cancela a coleta da semana", "pt", "none", None),
    ("no thanks, not interested in premium", "en", "none", None),
    ("cancel the extended warranty on my tv", "en", "none", None),
    # ...a quote or an application the chat is putting together is the chat's own process
    ("ya no sigo con la cotización, olvídenla", "es", "cancel", None),
    ("esquece esse orçamento aí", "pt", "cancel", None),
]


ROUND_17 = [
    # (text, lang, intent, confirm): a business object named in another clause (docs/intents.md,
    # "Round 17"). A stop or a give-up beside it is the user's own: the object is the reason...
    ("no tengo la tarjeta a mano, así que paremos", "es", "cancel", None),
    ("não achei o cartão aqui, pode parar", "pt", "cancel", None),
    ("my lunch break is over, let's stop here", "en", "cancel", None),
    # ...a cancel that refers back to the object takes it ("referring": a verb, a pronoun)...
    ("the booking for saturday, cancel it", "en", "none", None),
    ("aquela reserva do sábado, não quero mais", "pt", "none", None),
    ("aquela reserva do sábado, esquece ela", "pt", "none", None),
    ("the order I placed yesterday, cancel it", "en", "cancel_order", None),
    # ...and so does any cancel when the message asks about the object
    ("enough chit chat, when will my delivery arrive", "en", "none", None),
    ("im done with this laptop, can i get an upgrade", "en", "none", None),
    # an object right after a verb of making (or before "que estábamos armando") is the chat's
    # own process: a cancel of it ends the chat ("making")...
    ("não quero mais fazer a reserva, pode parar", "pt", "cancel", None),
    ("cancelá la reserva que estábamos armando", "es", "cancel", None),
    # ...and an English "no" opening the clause answers before a close of two words or more
    ("no no leave it, i'll call them", "en", "cancel", None),
    ("no, don't cancel it", "en", "none", None),
    # a blessing is no condition ("fillers"): the goodbye before it holds...
    ("até segunda se Deus quiser", "pt", "goodbye", None),
    ("hasta mañana si Dios quiere", "es", "goodbye", None),
    # ...and a cancel after one is still put off
    ("se Deus quiser eu cancelo amanhã", "pt", "none", None),
]

ROUND_18 = [
    # (text, lang, intent, confirm): docs/intents.md, "Round 18". "la inscripción" alone is
    # the chat's own sign-up; an enrolment *in* something is a business object
    ("frená la inscripción, no tengo los papeles", "es", "cancel", None),
    ("esquece a inscrição, desisti", "pt", "cancel", None),
    ("cancelá mi inscripción al curso de guitarra", "es", "none", None),
    ("cancela minha inscrição na corrida de domingo", "pt", "none", None),
    # a business object beside one of the "processes" nouns is the chat's own process: a
    # cancel of it ends the chat, or (the lexicon alone, its phrase explaining part) is asked
    # (round 22: the words between a determiner and the process noun are explained too)
    ("olvidate del formulario de la reserva", "es", "cancel", None),
    ("stop the booking process, I'll call the hotel", "en", "cancel", None),
    ("esquece a cotação do seguro", "pt", "none", "cancel"),
    ("cancel the booking I made for friday", "en", "none", None),
    # a goodbye ending in "next" ("meetings") meets the business there: the object after it
    # is no veto; leaving the gym is no opt-out ("gym" is a business object in es too)
    ("obrigado, até a próxima aula", "pt", "goodbye", None),
    ("gracias, hasta la próxima clase", "es", "goodbye", None),
    ("thanks, see you next lesson", "en", "goodbye", None),
    ("quiero darme de baja del gym", "es", "none", None),
    # whom the user speaks to is a filler, and a negation's reach ends before one: the "no"
    # answers ("no ma'am, forget it"), it does not negate the close
    ("no ma'am forget about it", "en", "cancel", None),
    ("não mana esquece isso", "pt", "cancel", None),
    ("no mija olvidalo", "es", "cancel", None),
    # an instruction after a condition opening the clause: the thanks are for it
    ("if nobody answers leave it at the door, thanks", "en", "none", None),
    # a hire (a car, a van) is a business object in en too
    ("cancel the van hire for saturday, don't need it", "en", "none", None),
]

ROUND_19 = [
    # (text, lang, intent, confirm): docs/intents.md, "Round 19". A deferral right after a
    # "postponements" phrase is the day the chat's work is left for: set aside now, a close
    ("então deixa pra depois pode encerrar", "pt", "cancel", None),
    ("just leave it for tomorrow and cancel this", "en", "cancel", None),
    # a deferral of the close itself still waits
    ("vou cancelar amanhã", "pt", "none", None),
    ("cancelo la semana que viene", "es", "none", None),
    ("i'll cancel later", "en", "none", None),
    # more vocatives are fillers in pt ("macho", "mermão", "parça"); not "rapaz", which is
    # as often the subject ("o rapaz falou que chegava hoje")
    ("ah macho deixa isso", "pt", "cancel", None),
    # en process nouns "flow", "wizard", "setup": the booking is the chat's own process
    # (asked about without a head until round 21, which closes on it: see ROUND_21)
    ("cancel the booking flow", "en", "cancel", None),
    # "set" is a making verb: the meeting the user was setting up is the chat's process
    ("cancel the meeting i was setting up with sam", "en", "cancel", None),
    ("cancel the alarm i set for 6", "en", "none", None),
    # a reason after a whole close, in the same clause, is cut off as at a comma
    ("para com isso aí que tá tudo errado", "pt", "cancel", None),
    ("stop this cause my boss is here", "en", "cancel", None),
    # not after a noun (a relative clause) nor after a verb (its object)
    ("cancelen la cotización que me mandaron ayer", "es", "none", None),
    ("para que serve isso", "pt", "none", None),
    # en "ya" is "you" (an abbreviation, like "u"): "catch ya later" is "catch you later"
    ("work's calling, catch ya later", "en", "goodbye", None),
    ("ok talk to ya later", "en", "goodbye", None),
    # "i'll check and get back to you" is no wait (the user leaves for a while), "let me
    # check real quick" is
    ("ok thanks, i'll check and get back to you, bye", "en", "goodbye", None),
    ("thanks, let me check real quick", "en", "none", None),
    ("obrigada, vou ver com meu marido e te falo, tchau", "pt", "goodbye", None),
    ("gracias, voy a ver con mi esposo y te aviso, chau", "es", "goodbye", None),
    ("peraí, deixa eu ver aqui", "pt", "none", None),
    # a base form of the lemma table is a known word, never a typo of an intent word:
    # "parcelar" (pay in instalments) is not "parar"
    ("parcelar", "pt", "none", None),
    # changing the plan is what the chat is doing ("making": trocar, mudar, cambiar...);
    # cancelling the plan stays a business cancel
    ("esquece, não quero mais mudar de plano", "pt", "cancel", None),
    ("olvidalo, ya no quiero cambiar el plan", "es", "cancel", None),
    ("cancela meu plano", "pt", "none", None),
]

ROUND_20 = [
    # (text, lang, intent, confirm): docs/intents.md, "Round 20". Greetings, farewells and
    # "leave it"s borrowed from the languages around English, as a whole clause (fillers
    # aside), a question too for a greeting
    ("namaste ji", "en", "greet", None),
    ("wagwan?", "en", "greet", None),
    ("kumusta po, i have a question about my bill", "en", "greet", None),
    ("assalamualaikum", "en", "greet", None),
    # a word of the phrase that passes for a filler ("sri" for "sir") still counts
    ("sat sri akal", "en", "greet", None),
    ("ok khuda hafiz", "en", "goodbye", None),
    ("thanks, cheerio", "en", "goodbye", None),
    ("mahalo, a hui hou", "en", "goodbye", None),
    ("ok wag na po", "en", "cancel", None),
    ("abeg forget am", "en", "cancel", None),
    ("rehne do yaar", "en", "cancel", None),
    ("coé, rapaziada", "pt", "greet", None),
    ("a paz do senhor", "pt", "greet", None),
    ("klk manito", "es", "greet", None),
    # a close said alone is still no close in a question ("pará?" asks what it means)
    ("pará?", "es", "none", None),
    # borrowed thanks are thanks: a farewell greeting right after them says goodbye
    ("shukriya, good night", "en", "goodbye", None),
    # no reason left to go on, after the reason in a clause of its own; an anti-example
    # inside the phrase ("carry on") is part of it
    ("found another tailor, no need to carry on", "en", "cancel", None),
    ("encontré otra modista, no hace falta seguir", "es", "cancel", None),
    ("achei outro, não precisa continuar", "pt", "cancel", None),
    ("no need to continue the subscription", "en", "none", None),
    ("i won't continue without a discount", "en", "none", None),
    # a goodbye that opens its clause, then a meeting word and where or when: a goodbye
    ("até sábado no banho do Bidu", "pt", "goodbye", None),
    ("hasta el sábado en la feria", "es", "goodbye", None),
    ("combinado, até quinta às 9h", "pt", "goodbye", None),
    # not with a subject after it (a deadline), nor in a question, nor after other words
    ("até sábado no banco eu pago", "pt", "none", None),
    ("até sexta no máximo?", "pt", "none", None),
    ("só consigo pagar até sexta no pix", "pt", "none", None),
    # a cancel with a new question after it drops one thing and asks about another: asked
    ("forget it, do you have it in blue?", "en", "none", "cancel"),
    ("para tudo! essas fotos ficaram perfeitas, quanto custa o álbum?", "pt", "none", "cancel"),
    # not a tag question, a question asking for the same close, or the cancel's own object
    ("esquece, dps eu vejo isso, blz?", "pt", "cancel", None),
    ("cancel. can you just stop?", "en", "cancel", None),
    ("pode cancelar tudo isso que a gente fez?", "pt", "cancel", None),
    # not finishing what the chat puts together is giving it up; the negation inside the
    # whole-clause phrase is part of it, one in another clause still vetoes
    ("no quiero terminar el formulario, me aburrió", "es", "cancel", None),
    ("no, i dont want to carry on", "en", "cancel", None),
    ("no, pará, no canceles nada", "es", "none", None),
    ("im done w this", "en", "cancel", None),
    ("não quero seguir com a contratação", "pt", "cancel", None),
    ("vou passar dessa vez, tá?", "pt", "cancel", None),
    # "pode encerrar/finalizar" with nothing left to do ends the chat; not a purchase
    ("pode finalizar aí, tá tudo certo", "pt", "goodbye", None),
    ("pode finalizar a compra", "pt", "none", None),
    # "atenciosamente" signs a request too: no close
    ("Senhores, solicito a segunda via do contrato. Atenciosamente, Cláudio.", "pt", "none", None),
]


ROUND_21 = [
    # (text, lang, intent, confirm): docs/intents.md, "Round 21". Irish and Scottish "ye"
    # and "yous" are "you"
    ("could ye stop texting me about sales", "en", "opt_out", None),
    ("see ye saturday", "en", "goodbye", None),
    ("how are yous", "en", "greet", None),
    # the object a relative clause says the chat is making is its own process: a cancel
    ("cancela a transferência que eu tava fazendo", "pt", "cancel", None),
    ("cancel the transfer i was making, wrong account", "en", "cancel", None),
    ("cancelá la reserva que estaba haciendo", "es", "cancel", None),
    ("cancel the transfer i made yesterday", "en", "none", None),
    # calls are contact too: stopping them opts out
    ("stop calling me", "en", "opt_out", None),
    ("parem de me ligar", "pt", "opt_out", None),
    # learners' English without "to"; forgetting what the user was asking for
    ("no, i dont want continue", "en", "cancel", None),
    ("esquece o que eu tava falando", "pt", "cancel", None),
    # a messaging word inside the cancel's own phrase is the user's message
    ("please disregard my last message", "en", "cancel", None),
    # more borrowed and regional greetings and farewells, as a whole clause
    ("khoda hafez", "en", "goodbye", None),
    ("ok i go first", "en", "goodbye", None),
    ("aight lata", "en", "goodbye", None),
    ("wuh happening boss", "en", "greet", None),
    ("hai kak", "en", "greet", None),
    ("you go first", "en", "none", None),
]

ROUND_22 = [
    # (text, lang, intent, confirm): docs/intents.md, "Round 22". The words between a
    # determiner and a process noun name which process it is: the chat's own
    ("stop the booking form, wrong dates", "en", "cancel", None),
    ("forget the credit application", "en", "cancel", None),
    ("can you forget about my last request", "en", "cancel", None),
    ("esquece esse pedido de orçamento", "pt", "cancel", None),
    # a business object without a process noun stays one
    ("cancel my webinar booking", "en", "none", None),
    ("i want to know about the booking form", "en", "none", None),
    # so do the words of a relative clause that says the chat is making the object
    ("stop the claim i was filing now", "en", "cancel", None),
    ("stop the transfer i'm setting up", "en", "cancel", None),
    ("esquece a consulta que eu tava marcando", "pt", "cancel", None),
    # a bare thanks or acknowledgement is none, praise and reinforced thanks included...
    ("thank you so much", "en", "none", None),
    ("legend, thanks mate", "en", "none", None),
    ("perfecto, gracias", "es", "none", None),
    ("arretado, valeu", "pt", "none", None),
    ("blz, valeu", "pt", "none", None),
    # ...thanks after a report of two words or more, or after a completion, say goodbye
    ("the sofa fits perfectly, thanks so much", "en", "goodbye", None),
    ("a luz voltou, valeu", "pt", "goodbye", None),
    ("deu certo, vlw", "pt", "goodbye", None),
    ("listo, resuelto, gracias", "es", "goodbye", None),
    ("sucesso pra vocês, obrigada", "pt", "goodbye", None),
    ("cheers, bye", "en", "goodbye", None),
]

ROUND_23 = [
    # (text, lang, intent, confirm): docs/intents.md, "Round 23". "im" is "i'm"
    ("im done here, thanks", "en", "goodbye", None),
    ("nah im good", "en", "goodbye", None),
    # a request in the conditional of politeness is no condition...
    ("i'd appreciate it if you could stop the sign up", "en", "cancel", None),
    ("we would be grateful if you could stop texting this number", "en", "opt_out", None),
    ("les agradecería que dejen de mandarme mensajes", "es", "opt_out", None),
    # ...but a condition still is one
    ("if you stop, i will leave", "en", "none", None),
    # a run of two answers or more before a one-word close stresses it; one "no" still negates
    ("no no no stop", "en", "cancel", None),
    ("no cancel", "en", "none", None),
    # the words after an opt-out's sending verb say what is sent
    ("quit sending me the coupon blasts", "en", "opt_out", None),
    ("dejen de mandarme los tips semanales", "es", "opt_out", None),
    ("parem de mandar esses boletos de cobrança", "pt", "opt_out", None),
    # a process noun right after a cancel's object makes it the chat's own process
    ("stop the profile setup", "en", "cancel", None),
    ("forget the insurance quote", "en", "cancel", None),
    # not going on with what the chat does
    ("im not doing this", "en", "cancel", None),
    ("nope, not going through with it", "en", "cancel", None),
    ("i'm not signing up after all", "en", "cancel", None),
    ("i'm not doing the dishes", "en", "none", None),
    # a stop right before a sending verb opts out
    ("quit calling me", "en", "opt_out", None),
    ("ya no me envíen nada por acá", "es", "opt_out", None),
    ("end call", "en", "none", "cancel"),
    # not when they are more than a few words (business.SENT_WORDS)...
    ("quit sending me the coupon blasts from the shoe store downtown", "en", "none", None),
    # ...nor in a report of the past
    ("i asked you to stop sending me the newsletter last week", "en", "none", None),
]

ROUND_24 = [
    # (text, lang, intent, confirm): docs/intents.md, "Round 24". A deferral that ends the
    # chat is a goodbye: a resumption with a later time...
    ("driving now, will answer later", "en", "goodbye", None),
    ("estoy en el trabajo, más tarde sigo con esto", "es", "goodbye", None),
    ("tô no mercado, depois termino isso", "pt", "goodbye", None),
    # ...which a situational wait does not undo ("im on the bus" waits without it)
    ("im on the bus, will reply later", "en", "goodbye", None),
    # later times of the day, also after the resumption's object ("finish this later")
    ("at the dentist, i'll finish this after work", "en", "goodbye", None),
    ("will text you back tmrw", "en", "goodbye", None),
    ("estoy en la feria, al rato te escribo", "es", "goodbye", None),
    # ...while a time that dates an order puts no cancel off
    ("cancel tonight's order", "en", "cancel_order", None),
    ("cancela o pedido que eu fiz ontem à tarde", "pt", "cancel_order", None),
    # a callback that ends its clause
    ("let me talk to my partner and get back to you", "en", "goodbye", None),
    ("lo hablo con mi socio y te aviso", "es", "goodbye", None),
    ("vou conversar com minha esposa e te retorno", "pt", "goodbye", None),
    # not beside a wait with no later time, nor a later time inside a wait
    ("one sec, i'll get back to you", "en", "none", None),
    ("daqui a pouco eu respondo", "pt", "none", None),
    ("ya te digo", "es", "none", None),
    # not asked, negated, past, conditional, a noun or a request to the business
    ("can i finish this later?", "en", "none", None),
    ("i won't reply later", "en", "none", None),
    ("i replied later", "en", "none", None),
    ("if it breaks again i'll get back to you", "en", "none", None),
    ("obrigado pelo retorno", "pt", "none", None),
    ("kindly revert", "en", "none", None),
    # a callback that does not end its clause tells it now
    ("te falo o valor agora", "pt", "none", None),
    # another intent heard says what the message does; a close put off is no leaving
    ("forget it, i'll finish this another day", "en", "cancel", None),
    ("depois eu termino, não encerra não", "pt", "none", None),
    # a greeting beside it is no other intent
    ("hey, driving now, will reply later", "en", "goodbye", None),
    ("amanhã eu vejo se cancelo", "pt", "none", None),
    # regional acknowledgements are fillers: thanks after one is thanks alone, no report
    ("va pues, gracias", "es", "none", None),
    ("chivo, gracias compa", "es", "none", None),
    # a negation before two of: "more", a message word, a verb of sending or receiving
    ("ya no me manden ofertas de la tienda", "es", "opt_out", None),
    ("no quiero recibir nada más de ustedes", "es", "opt_out", None),
    ("não quero mais receber oferta nenhuma", "pt", "opt_out", None),
    ("please don't send me the invoice yet", "en", "none", None),
]


ROUND_25 = [
    # (text, lang, intent, confirm): round 25's rules (docs/intents.md, "Round 25")
    # Only the time_nouns are a time already named after a determiner: "later" stays later...
    ("i'll cancel this later", "en", "none", None),
    ("i will cancel it by the end of the month", "en", "none", None),
    ("cancel this tomorrow", "en", "none", None),
    ("ok i will cancel this next week", "en", "none", None),
    ("i'll cancel that later, busy now", "en", "none", None),
    # ...while "esta mañana", "el otro día" and "da semana que vem" still date what they
    # follow (the business object of "cancela os passeios da semana que vem" is asked about).
    ("quiero cancelar el pedido que hice esta mañana", "es", "cancel_order", None),
    ("cancelé el otro día", "es", "none", None),
    # Callbacks the files did not list end the chat...
    ("vou ver com a minha irmã, depois digo", "pt", "goodbye", None),
    ("vou ver com a galera e te dou um toque", "pt", "goodbye", None),
    ("will talk to the wife tonight, send u a msg", "en", "goodbye", None),
    ("lo veo con mi señora y luego te hablo", "es", "goodbye", None),
    # ...but not where they tell something now or are asked, and "digo" or "mando mensagem"
    # need a later time to leave.
    ("te mando um zap com a foto?", "pt", "none", None),
    ("é isso que eu digo", "pt", "none", None),
    ("eu sempre mando mensagem", "pt", "none", None),
    ("falo com a minha mulher e amanhã mando mensagem", "pt", "goodbye", None),
    # European Portuguese says the chat's process in progress with "a" and the infinitive
    ("cancela a reserva que estávamos a fazer", "pt", "cancel", None),
    ("cancela a reserva que eu fiz", "pt", "none", None),
    # Scots negations negate ("dinnae" is "do not"), and "dinnae bother" gives up
    ("nah dinnae cancel it", "en", "none", None),
    ("dinnae bother, i'll sort it masel", "en", "cancel", None),
    # A partials word limits a close only when it names the part ("only" ends Indian English)
    ("stop here only", "en", "cancel", None),
    ("cancela só a batata", "pt", "none", None),
    # Goodbyes the files missed: "xao" for "chao", Catalan "adeu", "ta luego", "talk tomorrow"
    ("gracias, xao", "es", "goodbye", None),
    ("bueno, adeu", "es", "goodbye", None),
    ("ta luego", "es", "goodbye", None),
    ("ok talk tomorrow then", "en", "goodbye", None),
    # European Portuguese gives up with "já não" and "avançar"
    ("já não quero avançar com isto", "pt", "cancel", None),
]


ROUND_26 = [
    # (text, lang, intent, confirm): round 26's rules (docs/intents.md, "Round 26")
    # An anti-example beside a resumption ("let me check" is a wait alone) keeps the user's
    # later time: they leave now
    ("let me check, i'll message again tomorrow", "en", "goodbye", None),
    ("let me see my diary tonight and come back later", "en", "goodbye", None),
    # a time named by what the user waits for puts off ("when i get home", "once i've found")
    ("i'll come back once i've found the receipt", "en", "goodbye", None),
    ("i'll get back to you as soon as i know", "en", "goodbye", None),
    ("cancel it when i get home", "en", "none", None),
    # "come back later" needs no "will"; "i need to run", "leave you to it" leave
    ("come back later", "en", "goodbye", None),
    ("ok i need to run now, the kids are home", "en", "goodbye", None),
    ("ok, leave you to it then", "en", "goodbye", None),
    ("ok i'll sign off now", "en", "goodbye", None),
    # a well-being question after a farewell word makes it a greeting
    ("good night, how are you?", "en", "greet", None),
    ("bye! how's it going", "en", "greet", None),
    ("thanks, bye, hope you're well", "en", "goodbye", None),
    # "whatever you're doing" is the chat's own work, not a question
    ("could you please stop whatever you're doing", "en", "cancel", None),
    ("i'm done trying", "en", "cancel", None),
    # "la mañana" after an article is a time of day, not tomorrow
    ("dejen de mandarme mensajes por la mañana, por favor", "es", "opt_out", None),
    ("dejen de mandarme mensajes mañana", "es", "none", None),
    # "mando" and "contesto" without their accent are present, not "mandó", "contestó"
    ("lo consulto con mi jefe cuánto le mando y luego le escribo", "es", "goodbye", None),
    ("me mandó un mensaje diciendo que cancele", "es", "none", None),
    # continuing is making: the object of "seguir con" is the chat's process, given up; not
    # with another verb between ("seguir pagando la suscripción" is the business's)
    ("no quiero seguir con la reserva", "es", "cancel", None),
    ("i don't want to continue with the booking", "en", "none", "cancel"),
    ("ya no quiero seguir pagando la suscripción", "es", "none", None),
    # "la" before a noun is an article: the relative clause makes it the chat's process
    ("frená la transferencia que estaba cargando", "es", "cancel", None),
    # a wanting verb before a thing the lexicon does not know names something ordered: the
    # cancel is asked about however sure ("cancel it" says cancel again); not the chat's own
    ("ya no quiero la lámpara, cancélala por favor", "es", "none", "cancel"),
    ("i don't need the headphones anymore, cancel it", "en", "none", "cancel"),
    ("não quero mais a cadeira, cancela", "pt", "none", "cancel"),
    ("i don't want the form anymore, cancel it", "en", "cancel", None),
    # opt-outs of a broadcast list or group; "déjelo" gives up as "déjenlo" does
    ("quítame de tu lista de difusión", "es", "opt_out", None),
    ("quítenme de este grupo de ofertas, gracias", "es", "opt_out", None),
    ("mire, déjelo", "es", "cancel", None),
]

ROUND_27 = [
    # (text, lang, intent, confirm): round 27's rules (docs/intents.md, "Round 27")
    # a stop said negated asks the bot to go on: a close elsewhere in the message is none
    ("no, no me lo cancelés, dejalo como estaba", "es", "none", None),
    ("no pares de mandarme las rutinas porfa, me sirven un buen", "es", "none", None),
    ("no lo dejes a medias, terminemos de una", "es", "none", None),
    ("não, não parem, está ótimo assim", "pt", "none", None),
    ("num cancela não, só tô vendo o preço, valeu", "pt", "none", None),
    ("no me dejen de mandar los recordatorios eh, sino se me olvida", "es", "none", None),
    # not a stressed or answering "no", a stop said twice, one the lexicon read as a close
    # it did not veto, a stop in the past, nor a user who leaves for later
    ("no no no stop, i don't want to do the return form now", "en", "cancel", None),
    ("no stop stop i changed my mind", "en", "cancel", None),
    ("ya no ya no déjalo", "es", "cancel", None),
    ("ugh no just stop the whole thing", "en", "cancel", None),
    ("los chicos no paraban de jugar, así que nada, gracias por todo", "es", "goodbye", None),
    ("vou almoçar e depois continuo, não fecha não", "pt", "goodbye", None),
    # callbacks and later times the files missed: the user leaves now
    ("my husband just walked in, I'll get back to you after supper", "en", "goodbye", None),
    ("I'm at the market, I will call you in the evening", "en", "goodbye", None),
    ("in standup, will ping later", "en", "goodbye", None),
    ("entro a reunión, te escribo al salir", "es", "goodbye", None),
    ("déjame preguntarle a mi jeva y te dejo saber", "es", "goodbye", None),
    ("estou a sair do trabalho, falo contigo mais logo", "pt", "goodbye", None),
    ("Estou entrando em uma reunião, retorno à tarde.", "pt", "goodbye", None),
    # "à noite" alone dates what was done: no later time
    ("quero cancelar a compra que fiz ontem à noite no vosso site", "pt", "cancel_order", None),
]

ROUND_28 = [
    # (text, lang, intent, confirm): round 28's rules (docs/intents.md, "Round 28")
    # an acknowledgement or appraisal before thanks reports nothing: thanks alone
    ("lovely stuff, you're a star, thanks", "en", "none", None),
    ("makes sense, cheers", "en", "none", None),
    ("qué bien, muchas gracias", "es", "none", None),
    ("entendido, tiene sentido, gracias", "es", "none", None),
    ("show de bola, valeu", "pt", "none", None),
    ("ah, faz sentido, obrigada", "pt", "none", None),
    # the user's own step of the process, done, before thanks: the business has it to act on
    ("i've uploaded the payslips, thanks", "en", "none", None),
    ("ya te transferí la seña, gracias", "es", "none", None),
    ("acabei de enviar o comprovante, obrigada", "pt", "none", None),
    # something that happened or got resolved still closes
    ("the plumber came and the leak is gone, thanks", "en", "goodbye", None),
    ("ya me llegó el colchón, gracias", "es", "goodbye", None),
    # the questions of the chat's own process: giving up on them
    ("just stop asking me all these questions", "en", "cancel", None),
    ("ya basta de preguntas", "es", "cancel", None),
    ("parem de me fazer pergunta", "pt", "cancel", None),
    ("uf, dejémoslo", "es", "cancel", None),
    ("valeu, é tudo, boa tarde", "pt", "goodbye", None),
    # a farewell signs off an opt-out: the opt-out is what the engine acts on
    ("stop texting me, bye", "en", "opt_out", None),
    ("dame de baja, chau", "es", "opt_out", None),
    ("não quero mais receber mensagens, obrigado, tchau", "pt", "opt_out", None),
]

ROUND_29 = [
    # (text, lang, intent, confirm): round 29's rules (docs/intents.md, "Round 29")
    # a possessive right after a close asked for: the user's own thing, whatever it is
    ("cancel my 5pm with the accountant", "en", "none", None),
    ("please cancel my tyre fitting on monday", "en", "none", None),
    ("cancelá mi lavado del auto del jueves", "es", "none", None),
    ("cancela meu corte de cabelo de sábado", "pt", "none", None),
    # ...not the chat's own process, a vocative, or what an opt-out stops
    ("cancel my registration", "en", "cancel", None),
    ("deixa pra lá, minha filha", "pt", "cancel", None),
    ("stop spamming my phone", "en", "opt_out", None),
    # a clause that only names a thing, then a cancel that refers back: about that thing
    ("the wheel alignment on friday, cancel it please", "en", "none", None),
    ("el lavado de la moto del martes, cancelalo", "es", "none", None),
    ("a vistoria do apartamento, a de segunda, pode cancelar", "pt", "none", None),
    # a statement before the cancel: the chat is given up
    ("my husband says no, cancel it", "en", "cancel", None),
    ("mi esposa dice que no, cancelalo", "es", "cancel", None),
    ("o meu chefe não deixou, pode cancelar", "pt", "cancel", None),
    # the user's own trial, stopped: neither a close nor a request for a trial
    ("cancelá mi prueba gratis antes de que me cobren", "es", "none", None),
    ("cancela meu teste grátis", "pt", "none", None),
    # a greeting before a request about a business object: none (the help, not the welcome)
    ("hi, please cancel my gym membership", "en", "none", None),
    ("hola, quisiera cancelar el turno de la peluquería", "es", "none", None),
    # ...and a greeting's question does not keep an order cancel from its flow
    ("oi, tudo bem? cancela o pedido 4410 por favor", "pt", "cancel_order", None),
    ("hola", "es", "greet", None),
    # dismissing the assistant (alone): a command to be quiet or go, said to it
    ("siri, be quiet", "en", "cancel", None),
    ("stop talking now", "en", "cancel", None),
    ("turn on quiet mode", "en", "none", None),
    ("ya cállate", "es", "cancel", None),
    ("cala a boca, alexa", "pt", "cancel", None),
    # a later time said by what the user waits for, and a tag question after a deferral
    ("I'll ring you back once I land", "en", "goodbye", None),
    ("cuando llegue a la oficina te escribo", "es", "goodbye", None),
    ("assim que eu sair do trabalho te falo", "pt", "goodbye", None),
    ("lo hablo con mi socio y te aviso, ¿sí?", "es", "goodbye", None),
    ("can you text me when i get home?", "en", "none", None),
    # nobody asks for the close: a negation (the stop of another clause still closes)
    ("no one asked you to cancel anything", "en", "none", None),
    ("nadie pidió cancelar nada", "es", "none", None),
    ("ninguém pediu pra cancelar", "pt", "none", None),
    ("no one answers here so cancel", "en", "cancel", None),
    # wonder at the speed is an acknowledgement: thanks after it are thanks alone
    ("qué rapidez, muchas gracias", "es", "none", None),
    ("barbaridade, que rápido, valeu", "pt", "none", None),
    ("theek hai, thank you", "en", "none", None),
]

@pytest.mark.parametrize(
    ("text", "lang", "intent", "confirm"),
    ROUND_13
    + ROUND_14
    + ROUND_15
    + ROUND_16
    + ROUND_17
    + ROUND_18
    + ROUND_19
    + ROUND_20
    + ROUND_21
    + ROUND_22
    + ROUND_23
    + ROUND_24
    + ROUND_25
    + ROUND_26
    + ROUND_27
    + ROUND_28
    + ROUND_29,
)
def test_round_13_to_29_rules(
    trilingual: IntentClassifier, text: str, lang: str, intent: str, confirm: str | None
) -> None:
    result = trilingual.classify(text, lang)
    assert (result.intent, result.confirm) == (intent, confirm)


def test_a_postponement_cancels_while_a_flow_waits_for_free_text(
    trilingual: IntentClassifier,
) -> None:
    # the day the work is left for explains itself: the whole message is the cancel, even
    # where a flow waits for a name and only a sure close interrupts it
    for text, lang in (("deixa pra outro dia", "pt"), ("let's leave it for another day", "en")):
        assert trilingual.classify(text, lang, expecting_free_text=True).intent == "cancel"
    assert trilingual.classify("vou cancelar amanhã", "pt", expecting_free_text=True).intent == (
        "none"
    )


def test_a_leaving_deferral_is_asked_about_while_a_flow_waits_for_free_text(
    trilingual: IntentClassifier,
) -> None:
    # "más tarde te escribo el mail" may answer a step that asks for an email: below the
    # goodbye's threshold in a flow (0.9), so the bot asks instead of closing
    result = trilingual.classify("más tarde te escribo el mail", "es", expecting_free_text=True)
    assert (result.intent, result.confirm) == ("none", "goodbye")
    assert trilingual.classify("más tarde te escribo el mail", "es").intent == "goodbye"


def test_a_slot_answer_with_thanks_is_no_goodbye(trilingual: IntentClassifier) -> None:
    # where a flow waits for free text, a report with thanks answers the step
    text = "the courier left it at the back door, thanks"
    assert trilingual.classify(text, "en").intent == "goodbye"
    assert trilingual.classify(text, "en", expecting_free_text=True).intent == "none"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("wagwan?", "en"), ("ok khuda hafiz", "en"), ("coé, rapaziada", "pt"), ("klk manito", "es")],
)
def test_a_borrowed_word_tells_the_language_that_borrows_it(
    trilingual: IntentClassifier, text: str, lang: str
) -> None:
    """The words of a language's ``alone`` phrases are evidence of it when no other language
    holds them: a first message "wagwan?" gets an English reply, not the default language's."""
    assert trilingual.classify(text, None).lang == lang


def test_a_borrowed_word_another_language_holds_stays_that_languages(
    trilingual: IntentClassifier,
) -> None:
    """en's farewell "hasta la vista" does not make "hasta" and "la" English (the message
    would be undecided between es and en)."""
    assert trilingual.classify("hasta la vista", None).lang == "es"


@pytest.mark.parametrize(
    ("text", "lang", "alone"),
    [
        ("gracias!", "es", True),
        ("perfecto, muchas gracias", "es", True),
        ("thank you so much", "en", True),
        ("legend, thanks mate", "en", True),
        ("blz, valeu", "pt", True),
        ("sweet as, you're a legend, cheers", "en", True),  # acknowledgements: round 28
        ("joya joya, qué amable, gracias", "es", True),
        ("ok", "en", False),  # no thanks in it
        ("thanks, can you send the invoice?", "en", False),  # a question
        ("the courier left it with security, thanks", "en", False),  # a report: goodbye
        ("gracias, chau", "es", False),  # a goodbye phrase
        ("no, gracias, no quiero cancelar", "es", False),  # a (vetoed) cancel phrase
    ],
)
def test_bare_thanks_is_thanks_with_fillers_acknowledgements_and_at_most_one_other_word(
    trilingual: IntentClassifier, text: str, lang: str, alone: bool
) -> None:
    result = trilingual.classify(text, lang)
    assert result.bare_thanks is alone
    if alone:  # no close: the user may go on
        assert (result.intent, result.confirm) == ("none", None)
