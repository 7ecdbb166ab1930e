"""The one normaliser: key form, typo correction only when one reading is clearly best, offsets back."""
from core.text.normalise import correct_typos, norm, vocabulary

VOCAB = vocabulary({"text", "reachable", "assembly", "pacewell", "california", "customers", "grill", "grills"})


def test_norm_key_form():
    assert norm("Kids’  Back-to-School!") == "kids' back to school"


def test_typos_read_as_vocabulary_words_with_evidence():
    n = correct_typos("Custmers reachble by txt", VOCAB)
    assert n.text == "Customers reachable by text"
    assert [c.evidence for c in n.corrections] == ["read 'Custmers' as 'Customers'", "read 'reachble' as 'reachable'",
                                                   "read 'txt' as 'text'"]


def test_known_words_and_plurals_stay_as_written():
    n = correct_typos("grills for grandparents who bought stuff", VOCAB)
    assert n.text == "grills for grandparents who bought stuff" and not n.corrections


def test_contractions_are_read_as_written():
    v = vocabulary({"haven", "havens", "aren", "kids"})
    assert correct_typos("who haven't and aren't kids' shoppers", v).corrections == ()


def test_no_correction_when_two_readings_are_close():
    v = vocabulary({"cart", "card"})
    assert correct_typos("carx", v).corrections == ()


def test_offsets_map_back_to_the_original():
    n = correct_typos("by txt now", VOCAB)
    assert n.text == "by text now"
    assert n.original[n.to_original(n.text.index("now")):] == "now"
    assert n.to_original(n.text.index("text")) == n.original.index("txt")


def test_common_english_words_are_never_rewritten():
    from core.text.normalise import correct_typos
    from core.reader.lexicon import typo_vocabulary as _typo_vocabulary
    from core.tenant import load_tenant

    vocab = _typo_vocabulary(load_tenant("harbor").catalog)
    assert correct_typos("shoppers who bought yogurt and shampoo", vocab).corrections == ()


def test_foreign_words_are_told_from_rare_english_ones():
    from core.text.normalise import is_foreign

    assert all(is_foreign(w) for w in ("zapatos", "verduras", "obrigado", "gracias"))
    assert not any(is_foreign(w) for w in ("shampoo", "treadmill", "lunchtime", "bagels", "laptp"))


def test_numbers_written_as_words():
    from core.text.numbers import word_number
    assert [word_number(w) for w in ("seven", "Twenty-one", "forty two", "a dozen", "ninety")] == [7, 21, 42, 12, 90]
    assert [word_number(w) for w in ("a", "fiver", "seventy-ten", "")] == [None, None, None, None]


def test_fractions_are_shares_in_percent():
    from core.text.numbers import fraction_percent
    assert [fraction_percent(w) for w in ("half", "a third", "Three quarters", "a fifth")] == [50.0, 33.3, 75.0, 20.0]
    assert fraction_percent("quarterly") is None and fraction_percent("a half dozen") is None


def test_word_forms_meet_and_stems_are_no_typo_targets(harbor):
    from core.reader.common import _stem
    from core.reader.lexicon import typo_vocabulary as _typo_vocabulary
    assert len({_stem(w) for w in ("store", "stores", "stored")}) == 1
    assert len({_stem(w) for w in ("purchase", "purchases", "purchased")}) == 1
    vocab = _typo_vocabulary(harbor.catalog)
    assert correct_typos("shopers who are textabel", vocab).text == "shoppers who are textable"


def test_a_two_word_name_written_without_its_space_is_read_as_the_name(harbor):
    from core.reader.account import account
    from core.reader.lexicon import typo_vocabulary as _typo_vocabulary
    vocab = _typo_vocabulary(harbor.catalog)
    n = correct_typos("Shoppers who bought dishsoap and icecream", vocab)
    assert n.text == "Shoppers who bought dish soap and ice cream"
    cov = account(n, [], {"who", "and"})
    assert [s.text for s in cov.spans if s.kind == "unused"] == ["Shoppers", "bought", "dishsoap", "icecream"]
    assert correct_typos("someone who bought a notebook", vocab).text == "someone who bought a notebook"


def test_shorthand_is_read_as_the_words_it_stands_for():
    n = correct_typos("Bought in the last 3 mos, w/ a visit in 2wks, Sat/Sun shoppers", VOCAB)
    assert n.text == "Bought in the last 3 months, with a visit in 2 weeks, Saturday/Sunday shoppers"
    assert "read 'wks' as 'weeks'" in [c.evidence for c in n.corrections]
    assert n.original[n.to_original(n.text.index("shoppers")):] == "shoppers"


def test_shorthand_needs_its_context():
    """A unit only after a number, a day only beside another day: 'MO', 'the sun', 'sat down' stay."""
    for text in ("MO shoppers", "mos eisley", "the sun was out", "sat down with half-sun hats"):
        assert correct_typos(text, VOCAB).text == text


def test_swapped_letters_are_the_likeliest_reading():
    """'thier' is 'their' (two letters swapped) before it is 'tier' (one dropped)."""
    v = vocabulary({"tier", "their", "store"})
    assert correct_typos("close to thier store", v).text == "close to their store"


def test_windows_and_words_typed_short():
    n = correct_typos("bought in l30d, excl associates, hh w/ a push notif", VOCAB)
    assert n.text == "bought in last 30 days, excluding associates, households with a push notification"
