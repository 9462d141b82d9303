"""Standard-input families: whole programs that read stdin and print the answer."""

from __future__ import annotations

from .spec import TEST, Family, Program

READ_NUMBERS = "Read a line of integers separated by spaces from standard input"
READ_WORDS = "Read a number n from the first line of standard input, then n words, one per line,"

STDIO_NUMBERS = Family(
    "stdio_numbers",
    check="stdio",
    inputs=["5\n", "-3 -1 -2\n", "10 20 30 40\n", "0 7 0 7\n", "8 -6 4 1 -9 2\n"],
    members=[
        Program(
            "stdio_sum",
            f"{READ_NUMBERS} and print their sum.",
            """
            nums = [int(x) for x in input().split()]
            print(sum(nums))
            """,
            [("1 2 3\n", "6\n")],
        ),
        Program(
            "stdio_max",
            f"{READ_NUMBERS} and print the largest of them.",
            """
            nums = [int(x) for x in input().split()]
            print(max(nums))
            """,
            [("4 9 2\n", "9\n")],
        ),
        Program(
            "stdio_min",
            f"{READ_NUMBERS} and print the smallest of them.",
            """
            nums = [int(x) for x in input().split()]
            print(min(nums))
            """,
            [("4 9 2\n", "2\n")],
            split=TEST,
        ),
        Program(
            "stdio_count_even",
            f"{READ_NUMBERS} and print how many of them are even.",
            """
            nums = [int(x) for x in input().split()]
            print(sum(1 for x in nums if x % 2 == 0))
            """,
            [("1 2 3 4\n", "2\n")],
        ),
        Program(
            "stdio_sorted",
            f"{READ_NUMBERS} and print them in increasing order, separated by spaces.",
            """
            nums = [int(x) for x in input().split()]
            print(" ".join(str(x) for x in sorted(nums)))
            """,
            [("3 1 2\n", "1 2 3\n")],
        ),
        Program(
            "stdio_reversed",
            f"{READ_NUMBERS} and print them in reverse order, separated by spaces.",
            """
            nums = [int(x) for x in input().split()]
            print(" ".join(str(x) for x in nums[::-1]))
            """,
            [("1 2 3\n", "3 2 1\n")],
        ),
    ],
)

STDIO_WORDS = Family(
    "stdio_words",
    check="stdio",
    inputs=[
        "1\nx\n",
        "3\napple\nfig\nbanana\n",
        "2\nHello\nWorld\n",
        "4\na\nbb\nccc\nbb\n",
        "3\nkiwi\nplum\nlime\n",
    ],
    members=[
        Program(
            "stdio_upper_words",
            f"{READ_WORDS} and print each word in upper case, one per line.",
            """
            n = int(input())
            words = [input() for _ in range(n)]
            for w in words:
                print(w.upper())
            """,
            [("2\nhi\nyou\n", "HI\nYOU\n")],
        ),
        Program(
            "stdio_reversed_words",
            f"{READ_WORDS} and print each word reversed, one per line.",
            """
            n = int(input())
            words = [input() for _ in range(n)]
            for w in words:
                print(w[::-1])
            """,
            [("2\nhi\nyou\n", "ih\nuoy\n")],
            split=TEST,
        ),
        Program(
            "stdio_word_lengths",
            f"{READ_WORDS} and print the length of each word, one per line.",
            """
            n = int(input())
            words = [input() for _ in range(n)]
            for w in words:
                print(len(w))
            """,
            [("2\nhi\nyou\n", "2\n3\n")],
        ),
        Program(
            "stdio_numbered_words",
            f"{READ_WORDS} and print each word after its line number and a colon, as in '1: word'.",
            """
            n = int(input())
            words = [input() for _ in range(n)]
            for i, w in enumerate(words, start=1):
                print(f"{i}: {w}")
            """,
            [("2\nhi\nyou\n", "1: hi\n2: you\n")],
        ),
        Program(
            "stdio_longest_word",
            f"{READ_WORDS} and print the longest word (the first one if there is a tie).",
            """
            n = int(input())
            words = [input() for _ in range(n)]
            print(max(words, key=len))
            """,
            [("3\nhi\nyou\nall\n", "you\n")],
        ),
        Program(
            "stdio_total_length",
            f"{READ_WORDS} and print the total number of characters in the words.",
            """
            n = int(input())
            words = [input() for _ in range(n)]
            print(sum(len(w) for w in words))
            """,
            [("2\nhi\nyou\n", "5\n")],
        ),
    ],
)

#: The families of this module, in the order they are written out.
FAMILIES = [STDIO_NUMBERS, STDIO_WORDS]
