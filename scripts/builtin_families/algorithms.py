"""Families of small algorithms: sorting with keys and selections, searching and runs."""

from __future__ import annotations

from .spec import MEDIUM, TEST, Family, Fn

NUMS = "nums: list[int]"
NUMS_K = "nums: list[int], k: int"

SORTING = Family(
    "sorting",
    params=NUMS,
    returns="list[int]",
    inputs=["[]", "[4]", "[3, -1, 2, -7, 10]", "[15, 22, 8, 22, -3, 0]", "[5, 4, 3, 2, 1]"],
    members=[
        Fn(
            "sort_descending",
            "Return the numbers in nums sorted from largest to smallest.",
            "return sorted(nums, reverse=True)",
            [("[3, 1, 2]", [3, 2, 1])],
        ),
        Fn(
            "sort_by_abs",
            "Return the numbers in nums sorted by absolute value (numbers with equal "
            "absolute values keep their order).",
            "return sorted(nums, key=abs)",
            [("[-3, 1, 2]", [1, 2, -3])],
        ),
        Fn(
            "sort_by_last_digit",
            "Return the numbers in nums sorted by their last digit (numbers with equal last "
            "digits keep their order). The numbers are not negative.",
            "return sorted(nums, key=lambda x: x % 10)",
            [("[29, 11, 45]", [11, 45, 29])],
            inputs=["[]", "[4]", "[31, 12, 40, 7]", "[15, 22, 8, 25, 3, 0]", "[99, 19, 9]"],
            difficulty=MEDIUM,
        ),
        Fn(
            "sort_evens_first",
            "Return the even numbers of nums followed by the odd ones, each group in its "
            "original order.",
            "return [x for x in nums if x % 2 == 0] + [x for x in nums if x % 2 == 1]",
            [("[1, 2, 3, 4]", [2, 4, 1, 3])],
            difficulty=MEDIUM,
        ),
        Fn(
            "sort_odds_first",
            "Return the odd numbers of nums followed by the even ones, each group in its "
            "original order.",
            "return [x for x in nums if x % 2 == 1] + [x for x in nums if x % 2 == 0]",
            [("[1, 2, 3, 4]", [1, 3, 2, 4])],
            split=TEST,
            difficulty=MEDIUM,
        ),
        Fn(
            "k_smallest",
            "Return the k smallest numbers in nums, in increasing order.",
            "return sorted(nums)[:k]",
            [("[5, 1, 4, 2], 2", [1, 2])],
            params=NUMS_K,
            inputs=[
                "[], 2",
                "[4], 1",
                "[3, -1, 2, -7, 10], 3",
                "[15, 22, 8, 22, -3, 0], 0",
                "[5, 4, 3, 2, 1], 5",
            ],
        ),
        Fn(
            "k_largest",
            "Return the k largest numbers in nums, in decreasing order.",
            "return sorted(nums, reverse=True)[:k]",
            [("[5, 1, 4, 2], 2", [5, 4])],
            params=NUMS_K,
            inputs=[
                "[], 2",
                "[4], 1",
                "[3, -1, 2, -7, 10], 3",
                "[15, 22, 8, 22, -3, 0], 0",
                "[5, 4, 3, 2, 1], 5",
            ],
            split=TEST,
        ),
        Fn(
            "second_largest",
            "Return the second largest distinct number in nums. nums holds at least two "
            "distinct numbers.",
            "return sorted(set(nums))[-2]",
            [("[4, 9, 9, 2]", 4)],
            returns="int",
            inputs=[
                "[1, 2]",
                "[2, 1]",
                "[3, -1, 2, -7, 10]",
                "[15, 22, 8, 22, -3, 0]",
                "[5, 5, 4]",
            ],
            difficulty=MEDIUM,
        ),
        Fn(
            "bubble_sort",
            "Return a copy of nums sorted in increasing order, using bubble sort.",
            """
            result = list(nums)
            for i in range(len(result)):
                for j in range(len(result) - 1 - i):
                    if result[j] > result[j + 1]:
                        result[j], result[j + 1] = result[j + 1], result[j]
            return result
            """,
            [("[3, 1, 2]", [1, 2, 3])],
            difficulty=MEDIUM,
        ),
        Fn(
            "sort_words_by_length",
            "Return the words sorted from shortest to longest (words of equal length keep "
            "their order).",
            "return sorted(words, key=len)",
            [("['ccc', 'a', 'bb']", ["a", "bb", "ccc"])],
            params="words: list[str]",
            returns="list[str]",
            inputs=[
                "[]",
                "['x']",
                "['pear', 'fig', 'banana', 'kiwi']",
                "['aa', 'b', 'cc', 'd']",
                "['three', 'two', 'one']",
            ],
        ),
    ],
)

RUN_INPUTS = [
    "[]",
    "[7]",
    "[5, 4, 3]",
    "[1, 1, 2, 2, 2, 3]",
    "[-3, -2, -1, 0, 5, 2]",
    "[2, 4, 1, 6, 8]",
]
PAIR_INPUTS = ["[], 0", "[5], 10", "[5, 5], 10", "[1, 2, 3], 7", "[-3, 8, 4, 11, 1], 5"]
FREQUENCY_INPUTS = ["[7]", "[1, 2, 2, 3, 3]", "[4, 5, 6]", "[-1, -1, 0, 0, 0]", "[9, 8, 8, 9, 7]"]

SEARCHING = Family(
    "searching",
    params=NUMS,
    returns="int",
    difficulty=MEDIUM,
    inputs=RUN_INPUTS,
    members=[
        Fn(
            "binary_search",
            "Return the index of k in the sorted list nums using binary search, or -1 if k "
            "is not in nums. The numbers in nums are distinct.",
            """
            lo, hi = 0, len(nums) - 1
            while lo <= hi:
                mid = (lo + hi) // 2
                if nums[mid] == k:
                    return mid
                if nums[mid] < k:
                    lo = mid + 1
                else:
                    hi = mid - 1
            return -1
            """,
            [("[1, 3, 5, 7, 9], 7", 3)],
            params=NUMS_K,
            inputs=[
                "[], 1",
                "[4], 4",
                "[4], 5",
                "[-5, -2, 0, 3, 8, 13], -5",
                "[-5, -2, 0, 3, 8, 13], 13",
                "[2, 4, 6, 8], 5",
            ],
        ),
        Fn(
            "two_sum_exists",
            "Return True if two numbers at different positions in nums add up to k, else False.",
            """
            for i in range(len(nums)):
                for j in range(i + 1, len(nums)):
                    if nums[i] + nums[j] == k:
                        return True
            return False
            """,
            [("[1, 4, 6, 9], 10", True)],
            params=NUMS_K,
            returns="bool",
            inputs=PAIR_INPUTS,
        ),
        Fn(
            "count_pairs_with_sum_k",
            "Return the number of pairs of positions i < j with nums[i] + nums[j] == k.",
            """
            count = 0
            for i in range(len(nums)):
                for j in range(i + 1, len(nums)):
                    if nums[i] + nums[j] == k:
                        count += 1
            return count
            """,
            [("[1, 4, 6, 9], 10", 2)],
            params=NUMS_K,
            inputs=PAIR_INPUTS,
            split=TEST,
        ),
        Fn(
            "longest_increasing_run",
            "Return the length of the longest run of neighbouring items of nums where each "
            "item is greater than the one before it.",
            """
            best = 0
            run = 0
            for i in range(len(nums)):
                if i > 0 and nums[i] > nums[i - 1]:
                    run += 1
                else:
                    run = 1
                best = max(best, run)
            return best
            """,
            [("[1, 2, 0, 3, 4, 5]", 4)],
        ),
        Fn(
            "longest_equal_run",
            "Return the length of the longest run of neighbouring items of nums where each "
            "item is equal to the one before it.",
            """
            best = 0
            run = 0
            for i in range(len(nums)):
                if i > 0 and nums[i] == nums[i - 1]:
                    run += 1
                else:
                    run = 1
                best = max(best, run)
            return best
            """,
            [("[1, 1, 2, 2, 2, 3]", 3)],
            split=TEST,
        ),
        Fn(
            "longest_even_run",
            "Return the length of the longest run of neighbouring items of nums that are all even.",
            """
            best = 0
            run = 0
            for x in nums:
                if x % 2 == 0:
                    run += 1
                else:
                    run = 0
                best = max(best, run)
            return best
            """,
            [("[2, 4, 1, 6, 8, 10]", 3)],
        ),
        Fn(
            "most_frequent",
            "Return the number that occurs most often in nums (the first one if there is a "
            "tie). nums is not empty.",
            "return max(nums, key=nums.count)",
            [("[3, 1, 3, 2, 1, 3]", 3)],
            inputs=FREQUENCY_INPUTS,
        ),
        Fn(
            "least_frequent",
            "Return the number that occurs least often in nums (the first one if there is a "
            "tie). nums is not empty.",
            "return min(nums, key=nums.count)",
            [("[3, 1, 3, 2, 1, 3]", 2)],
            inputs=FREQUENCY_INPUTS,
        ),
        Fn(
            "first_repeated",
            "Return the first number in nums that is equal to an earlier number, or None if "
            "there is none.",
            """
            seen = []
            for x in nums:
                if x in seen:
                    return x
                seen.append(x)
            return None
            """,
            [("[3, 1, 4, 1, 3]", 1)],
            returns="int | None",
            inputs=["[]", "[7]", "[2, 2]", "[1, 2, 3, 4]", "[5, -1, 6, -1, 5]"],
        ),
    ],
)

#: The families of this module, in the order they are written out.
FAMILIES = [SORTING, SEARCHING]
