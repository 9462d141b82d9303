"""Families over strings and lists of words: transforms, counts, predicates, word lists."""

from __future__ import annotations

from .spec import TEST, Family, Fn

S = "s: str"
WORDS = "words: list[str]"
WORDS_K = "words: list[str], k: int"
VOWELS = "(a, e, i, o, u, in either case)"

STRING_TRANSFORM = Family(
    "string_transform",
    params=S,
    returns="str",
    inputs=["''", "'a'", "'Hello World'", "'abc 123 XYZ'", "'  two  spaces '"],
    members=[
        Fn(
            "to_upper",
            "Return s with every letter in upper case.",
            "return s.upper()",
            [("'Hello'", "HELLO")],
        ),
        Fn(
            "to_lower",
            "Return s with every letter in lower case.",
            "return s.lower()",
            [("'Hello'", "hello")],
        ),
        Fn(
            "swap_case",
            "Return s with every upper-case letter in lower case and every lower-case "
            "letter in upper case.",
            "return s.swapcase()",
            [("'Hello'", "hELLO")],
        ),
        Fn(
            "reverse_string",
            "Return s reversed.",
            "return s[::-1]",
            [("'abc'", "cba")],
        ),
        Fn(
            "reverse_words",
            "Return the words of s in reverse order, joined by single spaces.",
            'return " ".join(s.split()[::-1])',
            [("'one two three'", "three two one")],
        ),
        Fn(
            "remove_spaces",
            "Return s with every space removed.",
            'return "".join(c for c in s if c != " ")',
            [("'a b c'", "abc")],
        ),
        Fn(
            "remove_vowels",
            f"Return s with every vowel {VOWELS} removed.",
            'return "".join(c for c in s if c not in "aeiouAEIOU")',
            [("'Education'", "dctn")],
        ),
        Fn(
            "remove_digits",
            "Return s with every digit removed.",
            'return "".join(c for c in s if not c.isdigit())',
            [("'a1b2c3'", "abc")],
            split=TEST,
        ),
        Fn(
            "spaces_to_underscores",
            "Return s with every space replaced by an underscore.",
            'return "".join("_" if c == " " else c for c in s)',
            [("'a b c'", "a_b_c")],
        ),
        Fn(
            "vowels_to_stars",
            f"Return s with every vowel {VOWELS} replaced by a star '*'.",
            'return "".join("*" if c in "aeiouAEIOU" else c for c in s)',
            [("'banana'", "b*n*n*")],
            split=TEST,
        ),
    ],
)

STRING_COUNT = Family(
    "string_count",
    params=S,
    returns="int",
    inputs=["''", "'a'", "'Hello World'", "'abc 123 XYZ!'", "'AEIOU aeiou 42'"],
    members=[
        Fn(
            "count_vowels",
            f"Return the number of vowels {VOWELS} in s.",
            'return sum(1 for c in s if c in "aeiouAEIOU")',
            [("'banana'", 3)],
        ),
        Fn(
            "count_consonants",
            "Return the number of letters in s that are not vowels.",
            'return sum(1 for c in s if c.isalpha() and c not in "aeiouAEIOU")',
            [("'Python'", 5)],
            split=TEST,
        ),
        Fn(
            "count_digits",
            "Return the number of digits in s.",
            "return sum(1 for c in s if c.isdigit())",
            [("'a1b22'", 3)],
        ),
        Fn(
            "count_upper",
            "Return the number of upper-case letters in s.",
            "return sum(1 for c in s if c.isupper())",
            [("'HeLLo'", 3)],
        ),
        Fn(
            "count_lower",
            "Return the number of lower-case letters in s.",
            "return sum(1 for c in s if c.islower())",
            [("'HeLLo'", 2)],
            split=TEST,
        ),
        Fn(
            "count_letters",
            "Return the number of letters in s.",
            "return sum(1 for c in s if c.isalpha())",
            [("'a1 b2!'", 2)],
        ),
        Fn(
            "count_spaces",
            "Return the number of spaces in s.",
            'return sum(1 for c in s if c == " ")',
            [("'a b  c'", 3)],
        ),
        Fn(
            "count_char",
            "Return the number of times the character ch occurs in s.",
            "return sum(1 for c in s if c == ch)",
            [("'banana', 'a'", 3)],
            params="s: str, ch: str",
            inputs=[
                "'', 'a'",
                "'aaa', 'a'",
                "'Hello World', 'o'",
                "'Hello World', 'l'",
                "'abc', 'z'",
            ],
        ),
        Fn(
            "count_words",
            "Return the number of words in s (words are separated by whitespace).",
            "return len(s.split())",
            [("'the quick fox'", 3)],
        ),
    ],
)

STRING_PREDICATES = Family(
    "string_predicates",
    params=S,
    returns="bool",
    inputs=["''", "'x'", "'42'", "'ABC'", "'level'", "'Hello World 2'", "'abc'", "'idea'"],
    members=[
        Fn(
            "has_digit",
            "Return True if s contains at least one digit, else False.",
            "return any(c.isdigit() for c in s)",
            [("'abc1'", True)],
        ),
        Fn(
            "has_upper",
            "Return True if s contains at least one upper-case letter, else False.",
            "return any(c.isupper() for c in s)",
            [("'abC'", True)],
        ),
        Fn(
            "has_lower",
            "Return True if s contains at least one lower-case letter, else False.",
            "return any(c.islower() for c in s)",
            [("'ABc'", True)],
            split=TEST,
        ),
        Fn(
            "has_vowel",
            f"Return True if s contains at least one vowel {VOWELS}, else False.",
            'return any(c in "aeiouAEIOU" for c in s)',
            [("'rhythm'", False)],
        ),
        Fn(
            "all_digits",
            "Return True if every character of s is a digit, else False. "
            "An empty string gives True.",
            "return all(c.isdigit() for c in s)",
            [("'2024'", True)],
        ),
        Fn(
            "all_upper",
            "Return True if every character of s is an upper-case letter, else False. "
            "An empty string gives True.",
            "return all(c.isupper() for c in s)",
            [("'ABc'", False)],
            split=TEST,
        ),
        Fn(
            "all_lower",
            "Return True if every character of s is a lower-case letter, else False. "
            "An empty string gives True.",
            "return all(c.islower() for c in s)",
            [("'hello'", True)],
        ),
        Fn(
            "is_palindrome",
            "Return True if s reads the same forwards and backwards, else False.",
            "return s == s[::-1]",
            [("'noon'", True), ("'note'", False)],
        ),
        Fn(
            "starts_with_vowel",
            f"Return True if the first character of s is a vowel {VOWELS}, else False. "
            "An empty string gives False.",
            'return len(s) > 0 and s[0] in "aeiouAEIOU"',
            [("'apple'", True)],
        ),
        Fn(
            "ends_with_vowel",
            f"Return True if the last character of s is a vowel {VOWELS}, else False. "
            "An empty string gives False.",
            'return len(s) > 0 and s[-1] in "aeiouAEIOU"',
            [("'apple'", True)],
            split=TEST,
        ),
    ],
)

WORD_K_INPUTS = [
    "[], 2",
    "['a'], 0",
    "['pear', 'fig', 'banana'], 3",
    "['Hi', 'there', 'you'], 5",
    "['one', 'two', 'three'], 2",
]

WORD_LISTS = Family(
    "word_lists",
    params=WORDS,
    returns="list[str]",
    inputs=[
        "['a']",
        "['pear', 'fig', 'banana']",
        "['Hi', 'there', 'you']",
        "['one', 'two', 'six']",
        "['Zebra', 'apple', 'Mango', 'kiwi']",
    ],
    members=[
        Fn(
            "longest_word",
            "Return the longest word in words (the first one if there is a tie). "
            "words is not empty.",
            "return max(words, key=len)",
            [("['hi', 'hello', 'hey']", "hello")],
            returns="str",
        ),
        Fn(
            "shortest_word",
            "Return the shortest word in words (the first one if there is a tie). "
            "words is not empty.",
            "return min(words, key=len)",
            [("['hey', 'hello', 'hi']", "hi")],
            returns="str",
            split=TEST,
        ),
        Fn(
            "total_length",
            "Return the total number of characters in the words.",
            "return sum(len(w) for w in words)",
            [("['ab', 'cde']", 5)],
            returns="int",
        ),
        Fn(
            "lengths_of_words",
            "Return a list of the lengths of the words.",
            "return [len(w) for w in words]",
            [("['ab', 'cde']", [2, 3])],
            returns="list[int]",
        ),
        Fn(
            "reverse_each_word",
            "Return a list of the words, each one reversed.",
            "return [w[::-1] for w in words]",
            [("['ab', 'cde']", ["ba", "edc"])],
        ),
        Fn(
            "first_letters",
            "Return a string made of the first letter of each word.",
            'return "".join(w[0] for w in words)',
            [("['big', 'old', 'cat']", "boc")],
            returns="str",
        ),
        Fn(
            "last_letters",
            "Return a string made of the last letter of each word.",
            'return "".join(w[-1] for w in words)',
            [("['big', 'old', 'cat']", "gdt")],
            returns="str",
            split=TEST,
        ),
        Fn(
            "join_with_spaces",
            "Return the words joined into one string, with a space between neighbours.",
            'return " ".join(words)',
            [("['a', 'b', 'c']", "a b c")],
            returns="str",
        ),
        Fn(
            "words_longer_than_k",
            "Return a list of the words with more than k characters, in their original order.",
            "return [w for w in words if len(w) > k]",
            [("['a', 'abc', 'ab'], 1", ["abc", "ab"])],
            params=WORDS_K,
            inputs=WORD_K_INPUTS,
        ),
        Fn(
            "count_words_longer_than_k",
            "Return the number of words with more than k characters.",
            "return sum(1 for w in words if len(w) > k)",
            [("['a', 'abc', 'ab'], 1", 2)],
            params=WORDS_K,
            returns="int",
            inputs=WORD_K_INPUTS,
        ),
    ],
)

#: The families of this module, in the order they are written out.
FAMILIES = [STRING_TRANSFORM, STRING_COUNT, STRING_PREDICATES, WORD_LISTS]
