"""Families over integers: digits, sums over ranges, divisors, sequences, conversions, means."""

from __future__ import annotations

from .spec import MEDIUM, TEST, Family, Fn

N = "n: int"
N_K = "n: int, k: int"
A_B = "a: int, b: int"
NUMS = "nums: list[int]"

DIGITS = Family(
    "digits",
    params=N,
    returns="int",
    inputs=["0", "7", "90210", "5555", "13579", "2468"],
    members=[
        Fn(
            "digit_sum",
            "Return the sum of the digits of n, where n >= 0.",
            "return sum(int(d) for d in str(n))",
            [("123", 6)],
        ),
        Fn(
            "digit_count",
            "Return the number of digits of n, where n >= 0.",
            "return len(str(n))",
            [("123", 3)],
        ),
        Fn(
            "digit_product",
            "Return the product of the digits of n, where n >= 0.",
            """
            result = 1
            for d in str(n):
                result *= int(d)
            return result
            """,
            [("234", 24)],
            difficulty=MEDIUM,
        ),
        Fn(
            "largest_digit",
            "Return the largest digit of n, where n >= 0.",
            "return max(int(d) for d in str(n))",
            [("3819", 9)],
        ),
        Fn(
            "smallest_digit",
            "Return the smallest digit of n, where n >= 0.",
            "return min(int(d) for d in str(n))",
            [("3819", 1)],
            split=TEST,
        ),
        Fn(
            "count_even_digits",
            "Return the number of even digits of n, where n >= 0.",
            "return sum(1 for d in str(n) if int(d) % 2 == 0)",
            [("12345", 2)],
        ),
        Fn(
            "count_odd_digits",
            "Return the number of odd digits of n, where n >= 0.",
            "return sum(1 for d in str(n) if int(d) % 2 == 1)",
            [("12345", 3)],
            split=TEST,
        ),
        Fn(
            "sum_even_digits",
            "Return the sum of the even digits of n, where n >= 0.",
            "return sum(int(d) for d in str(n) if int(d) % 2 == 0)",
            [("12345", 6)],
        ),
        Fn(
            "sum_odd_digits",
            "Return the sum of the odd digits of n, where n >= 0.",
            "return sum(int(d) for d in str(n) if int(d) % 2 == 1)",
            [("12345", 9)],
        ),
        Fn(
            "reverse_digits",
            "Return the number made of the digits of n in reverse order, where n >= 0.",
            "return int(str(n)[::-1])",
            [("1234", 4321)],
        ),
    ],
)

RANGE_K_INPUTS = ["0, 2", "5, 5", "5, 7", "20, 4", "12, 1"]

RANGE_SUMS = Family(
    "range_sums",
    params=N,
    returns="int",
    inputs=["0", "1", "2", "7", "10"],
    members=[
        Fn(
            "sum_up_to",
            "Return the sum of the integers from 1 to n.",
            "return sum(i for i in range(1, n + 1))",
            [("4", 10)],
        ),
        Fn(
            "sum_squares_up_to",
            "Return the sum of the squares of the integers from 1 to n.",
            "return sum(i * i for i in range(1, n + 1))",
            [("3", 14)],
        ),
        Fn(
            "sum_cubes_up_to",
            "Return the sum of the cubes of the integers from 1 to n.",
            "return sum(i * i * i for i in range(1, n + 1))",
            [("3", 36)],
            split=TEST,
        ),
        Fn(
            "sum_even_up_to",
            "Return the sum of the even integers from 1 to n.",
            "return sum(i for i in range(1, n + 1) if i % 2 == 0)",
            [("6", 12)],
        ),
        Fn(
            "sum_odd_up_to",
            "Return the sum of the odd integers from 1 to n.",
            "return sum(i for i in range(1, n + 1) if i % 2 == 1)",
            [("6", 9)],
            split=TEST,
        ),
        Fn(
            "sum_multiples_of_k_up_to",
            "Return the sum of the multiples of k from 1 to n, where k >= 1.",
            "return sum(i for i in range(1, n + 1) if i % k == 0)",
            [("10, 3", 18)],
            params=N_K,
            inputs=RANGE_K_INPUTS,
        ),
        Fn(
            "count_multiples_of_k_up_to",
            "Return the count of the multiples of k from 1 to n, where k >= 1.",
            "return sum(1 for i in range(1, n + 1) if i % k == 0)",
            [("10, 3", 3)],
            params=N_K,
            inputs=RANGE_K_INPUTS,
        ),
        Fn(
            "product_up_to",
            "Return the product of the integers from 1 to n (1 if n is 0).",
            """
            result = 1
            for i in range(1, n + 1):
                result *= i
            return result
            """,
            [("5", 120)],
            difficulty=MEDIUM,
        ),
        Fn(
            "product_even_up_to",
            "Return the product of the even integers from 1 to n (1 if there are none).",
            """
            result = 1
            for i in range(1, n + 1):
                if i % 2 == 0:
                    result *= i
            return result
            """,
            [("6", 48)],
            difficulty=MEDIUM,
        ),
    ],
)

DIVISORS = Family(
    "divisors",
    params=N,
    returns="int",
    inputs=["1", "2", "6", "13", "28", "36"],
    members=[
        Fn(
            "count_divisors",
            "Return the number of positive divisors of n, where n >= 1.",
            "return sum(1 for i in range(1, n + 1) if n % i == 0)",
            [("12", 6)],
        ),
        Fn(
            "sum_divisors",
            "Return the sum of the positive divisors of n, where n >= 1.",
            "return sum(i for i in range(1, n + 1) if n % i == 0)",
            [("12", 28)],
            split=TEST,
        ),
        Fn(
            "list_divisors",
            "Return a list of the positive divisors of n in increasing order, where n >= 1.",
            "return [i for i in range(1, n + 1) if n % i == 0]",
            [("12", [1, 2, 3, 4, 6, 12])],
            returns="list[int]",
        ),
        Fn(
            "sum_proper_divisors",
            "Return the sum of the positive divisors of n that are less than n, where n >= 1.",
            "return sum(i for i in range(1, n) if n % i == 0)",
            [("12", 16)],
        ),
        Fn(
            "is_prime",
            "Return True if n is a prime number, else False.",
            "return n > 1 and all(n % i != 0 for i in range(2, n))",
            [("7", True), ("9", False)],
            returns="bool",
            inputs=["0", "1", "2", "13", "28", "91"],
        ),
        Fn(
            "is_perfect",
            "Return True if n equals the sum of its positive divisors that are less than n, "
            "else False. n >= 1.",
            "return sum(i for i in range(1, n) if n % i == 0) == n",
            [("496", True), ("12", False)],
            returns="bool",
            difficulty=MEDIUM,
        ),
        Fn(
            "count_primes_up_to",
            "Return the number of prime numbers from 1 to n.",
            "return sum(1 for m in range(2, n + 1) if all(m % i != 0 for i in range(2, m)))",
            [("10", 4)],
            inputs=["0", "1", "2", "13", "30"],
            difficulty=MEDIUM,
        ),
        Fn(
            "sum_primes_up_to",
            "Return the sum of the prime numbers from 1 to n.",
            "return sum(m for m in range(2, n + 1) if all(m % i != 0 for i in range(2, m)))",
            [("10", 17)],
            inputs=["0", "1", "2", "13", "30"],
            difficulty=MEDIUM,
            split=TEST,
        ),
        Fn(
            "gcd",
            "Return the greatest common divisor of a and b, where a >= 1 and b >= 1.",
            "return max(i for i in range(1, min(a, b) + 1) if a % i == 0 and b % i == 0)",
            [("12, 18", 6)],
            params=A_B,
            inputs=["1, 1", "7, 13", "8, 32", "27, 18", "100, 75"],
            difficulty=MEDIUM,
        ),
        Fn(
            "count_common_divisors",
            "Return the number of positive integers that divide both a and b, "
            "where a >= 1 and b >= 1.",
            "return sum(1 for i in range(1, min(a, b) + 1) if a % i == 0 and b % i == 0)",
            [("12, 18", 4)],
            params=A_B,
            inputs=["1, 1", "7, 13", "8, 32", "27, 18", "100, 75"],
            difficulty=MEDIUM,
        ),
    ],
)

SEQ_K_INPUTS = ["0, 5", "1, 7", "3, -2", "5, 10", "6, 1"]

SEQUENCES = Family(
    "sequences",
    params=N,
    returns="list[int]",
    inputs=["0", "1", "2", "6", "8"],
    members=[
        Fn(
            "first_n_squares",
            "Return a list of the first n square numbers, starting from 1.",
            "return [i * i for i in range(1, n + 1)]",
            [("4", [1, 4, 9, 16])],
        ),
        Fn(
            "first_n_cubes",
            "Return a list of the first n cube numbers, starting from 1.",
            "return [i * i * i for i in range(1, n + 1)]",
            [("4", [1, 8, 27, 64])],
            split=TEST,
        ),
        Fn(
            "first_n_evens",
            "Return a list of the first n positive even numbers.",
            "return [2 * i for i in range(1, n + 1)]",
            [("4", [2, 4, 6, 8])],
        ),
        Fn(
            "first_n_odds",
            "Return a list of the first n positive odd numbers.",
            "return [2 * i - 1 for i in range(1, n + 1)]",
            [("4", [1, 3, 5, 7])],
        ),
        Fn(
            "first_n_multiples_of_k",
            "Return a list of the first n positive multiples of k.",
            "return [k * i for i in range(1, n + 1)]",
            [("4, 3", [3, 6, 9, 12])],
            params=N_K,
            inputs=SEQ_K_INPUTS,
        ),
        Fn(
            "first_n_powers_of_two",
            "Return a list of the first n powers of 2, starting from 1.",
            "return [2**i for i in range(n)]",
            [("5", [1, 2, 4, 8, 16])],
        ),
        Fn(
            "first_n_powers_of_k",
            "Return a list of the first n powers of k, starting from 1.",
            "return [k**i for i in range(n)]",
            [("4, 3", [1, 3, 9, 27])],
            params=N_K,
            inputs=SEQ_K_INPUTS,
            split=TEST,
        ),
        Fn(
            "first_n_triangular",
            "Return a list of the first n triangular numbers (1, 3, 6, 10, ...).",
            "return [i * (i + 1) // 2 for i in range(1, n + 1)]",
            [("5", [1, 3, 6, 10, 15])],
        ),
        Fn(
            "first_n_fibonacci",
            "Return a list of the first n Fibonacci numbers (0, 1, 1, 2, 3, 5, ...).",
            """
            result = []
            a, b = 0, 1
            for _ in range(n):
                result.append(a)
                a, b = b, a + b
            return result
            """,
            [("7", [0, 1, 1, 2, 3, 5, 8])],
            difficulty=MEDIUM,
        ),
        Fn(
            "collatz_sequence",
            "Return the Collatz sequence from n to 1: halve n when it is even, else "
            "replace it by 3 * n + 1. n >= 1.",
            """
            result = [n]
            while n != 1:
                n = n // 2 if n % 2 == 0 else 3 * n + 1
                result.append(n)
            return result
            """,
            [("6", [6, 3, 10, 5, 16, 8, 4, 2, 1])],
            inputs=["1", "2", "3", "7", "16"],
            difficulty=MEDIUM,
        ),
    ],
)

CONVERSIONS = Family(
    "conversions",
    params=N,
    returns="str",
    inputs=["0", "1", "2", "255", "1000"],
    members=[
        Fn(
            "to_binary",
            "Return the binary digits of n as a string, where n >= 0.",
            "return bin(n)[2:]",
            [("10", "1010")],
        ),
        Fn(
            "to_octal",
            "Return the octal digits of n as a string, where n >= 0.",
            "return oct(n)[2:]",
            [("64", "100")],
        ),
        Fn(
            "from_binary",
            "Return the number whose binary digits are the string s.",
            "return int(s, 2)",
            [("'1010'", 10)],
            params="s: str",
            returns="int",
            inputs=["'0'", "'1'", "'111'", "'100000'", "'1100100'"],
        ),
        Fn(
            "to_base_k",
            "Return the digits of n in base k as a string, where n >= 0 and 2 <= k <= 10.",
            """
            if n == 0:
                return "0"
            digits = ""
            while n > 0:
                digits = str(n % k) + digits
                n //= k
            return digits
            """,
            [("10, 3", "101")],
            params=N_K,
            inputs=["0, 2", "5, 5", "8, 2", "100, 7", "4, 10"],
            difficulty=MEDIUM,
        ),
        Fn(
            "number_to_digits",
            "Return a list of the digits of n, where n >= 0.",
            "return [int(d) for d in str(n)]",
            [("123", [1, 2, 3])],
            returns="list[int]",
            split=TEST,
        ),
        Fn(
            "digits_to_number",
            "Return the number whose digits, in order, are the items of nums. nums is not empty.",
            """
            result = 0
            for d in nums:
                result = result * 10 + d
            return result
            """,
            [("[1, 2, 3]", 123)],
            params=NUMS,
            returns="int",
            inputs=["[0]", "[7]", "[0, 4]", "[9, 9, 9]", "[1, 0, 0, 5]"],
            difficulty=MEDIUM,
        ),
        Fn(
            "seconds_to_hms",
            "Return n seconds as a string 'H:MM:SS', where n >= 0.",
            'return f"{n // 3600}:{n % 3600 // 60:02d}:{n % 60:02d}"',
            [("3725", "1:02:05")],
            inputs=["0", "59", "60", "3600", "86399"],
        ),
        Fn(
            "seconds_to_ms",
            "Return n seconds as a string 'M:SS', where n >= 0.",
            'return f"{n // 60}:{n % 60:02d}"',
            [("125", "2:05")],
            inputs=["0", "59", "60", "3600", "86399"],
            split=TEST,
        ),
        Fn(
            "celsius_to_fahrenheit",
            "Return the temperature c, in degrees Celsius, in degrees Fahrenheit.",
            "return c * 9 / 5 + 32",
            [("100.0", 212.0)],
            params="c: float",
            returns="float",
            inputs=["0.0", "-40.0", "37.0", "21.5"],
        ),
    ],
)

MEAN_INPUTS = ["[5]", "[-2, 2]", "[1, 2, 4]", "[10, 20, 30, 45]", "[-7, -3, 0, 1, 2]"]
MEAN_IF_INPUTS = ["[]", "[-3]", "[5]", "[1, 2, 4]", "[10, -20, 30, 45]", "[-7, -3, 0, 1, 2]"]

# Float results: graded by ``assert abs(f(...) - expected) < 1e-9``.
AVERAGES = Family(
    "averages",
    params=NUMS,
    returns="float",
    check="approx",
    inputs=MEAN_INPUTS,
    members=[
        Fn(
            "mean",
            "Return the mean of the numbers in nums. nums is not empty.",
            "return sum(nums) / len(nums)",
            [("[1, 2, 3, 4]", 2.5)],
        ),
        Fn(
            "mean_of_squares",
            "Return the mean of the squares of the numbers in nums. nums is not empty.",
            "return sum(x * x for x in nums) / len(nums)",
            [("[1, 3]", 5.0)],
        ),
        Fn(
            "mean_of_absolutes",
            "Return the mean of the absolute values of the numbers in nums. nums is not empty.",
            "return sum(abs(x) for x in nums) / len(nums)",
            [("[-1, 3]", 2.0)],
            split=TEST,
        ),
        Fn(
            "mean_of_positives",
            "Return the mean of the positive numbers in nums, or 0.0 if there are none.",
            """
            values = [x for x in nums if x > 0]
            if not values:
                return 0.0
            return sum(values) / len(values)
            """,
            [("[-5, 1, 2]", 1.5)],
            inputs=MEAN_IF_INPUTS,
            difficulty=MEDIUM,
        ),
        Fn(
            "mean_of_evens",
            "Return the mean of the even numbers in nums, or 0.0 if there are none.",
            """
            values = [x for x in nums if x % 2 == 0]
            if not values:
                return 0.0
            return sum(values) / len(values)
            """,
            [("[1, 2, 3, 4]", 3.0)],
            inputs=MEAN_IF_INPUTS,
            difficulty=MEDIUM,
            split=TEST,
        ),
        Fn(
            "median",
            "Return the median of nums: the middle number once sorted, or the mean of the "
            "two middle numbers if the length is even. nums is not empty.",
            """
            ordered = sorted(nums)
            mid = len(ordered) // 2
            if len(ordered) % 2 == 1:
                return float(ordered[mid])
            return (ordered[mid - 1] + ordered[mid]) / 2
            """,
            [("[3, 1, 2]", 2.0), ("[4, 1, 3, 2]", 2.5)],
            difficulty=MEDIUM,
        ),
    ],
)

#: The families of this module, in the order they are written out.
FAMILIES = [DIGITS, RANGE_SUMS, DIVISORS, SEQUENCES, CONVERSIONS, AVERAGES]
