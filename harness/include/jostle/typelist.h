// Type lists for the backend map (harness/backends/backend_map.h): a list of backend types, concatenation,
// "every algorithm over every base" and "the ones of one primitive". Only type computations: nothing here is
// instantiated beyond the class templates named, and no case body is instantiated by it.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string_view>

namespace jostle {

template <class... T>
struct TypeList {};

// A compile-time string usable as a template argument: Only<"mutex", L>, a primitive's name.
template <std::size_t N>
struct PrimitiveName {
  char s[N]{};
  constexpr PrimitiveName(const char (&in)[N]) {
    for (std::size_t i = 0; i < N; ++i) s[i] = in[i];
  }
  constexpr std::string_view view() const { return std::string_view(s, N - 1); }
};

// A set of generic algorithms, each a template over one lower-layer backend (a futex, a mutex, ...).
template <template <class> class... Alg>
struct Algorithms {};

namespace typelist_detail {

template <class... Ls>
struct Concat;
template <>
struct Concat<> {
  using type = TypeList<>;
};
template <class... A>
struct Concat<TypeList<A...>> {
  using type = TypeList<A...>;
};
template <class... A, class... B, class... Rest>
struct Concat<TypeList<A...>, TypeList<B...>, Rest...> {
  using type = typename Concat<TypeList<A..., B...>, Rest...>::type;
};

// Alg<X> when it is well-formed (X satisfies the algorithm's concept), else nothing: a timed algorithm skips
// an untimed futex without a special case.
template <template <class> class Alg, class X>
struct ApplyOne {
  using type = TypeList<>;
};
template <template <class> class Alg, class X>
  requires requires { typename Alg<X>; }
struct ApplyOne<Alg, X> {
  using type = TypeList<Alg<X>>;
};

template <class Algs, class X>
struct ApplyAll;
template <template <class> class... Alg, class X>
struct ApplyAll<Algorithms<Alg...>, X> {
  using type = typename Concat<typename ApplyOne<Alg, X>::type...>::type;
};

template <class Algs, class Bases>
struct Compose;
template <class Algs, class... X>
struct Compose<Algs, TypeList<X...>> {
  using type = typename Concat<typename ApplyAll<Algs, X>::type...>::type;
};

template <class B>
constexpr std::string_view primitive_of() {
  if constexpr (requires { B::kPrimitive; }) {
    return B::kPrimitive;
  } else {
    return {};
  }
}

template <PrimitiveName P, class B>
struct KeepIf {
  using type = TypeList<>;
};
template <PrimitiveName P, class B>
  requires(primitive_of<B>() == P.view())
struct KeepIf<P, B> {
  using type = TypeList<B>;
};

template <PrimitiveName P, class L>
struct Only;
template <PrimitiveName P, class... B>
struct Only<P, TypeList<B...>> {
  using type = typename Concat<typename KeepIf<P, B>::type...>::type;
};

}  // namespace typelist_detail

// Whether every member of the list declares one of the given primitives (kPrimitive): the backend map asserts
// it, so a backend that forgot kPrimitive is a compile error instead of silently missing from its list.
template <class... B>
constexpr bool all_primitive_in(TypeList<B...>, std::initializer_list<std::string_view> prims) {
  auto in = [&](std::string_view p) {
    for (std::string_view q : prims)
      if (p == q) return true;
    return false;
  };
  return (in(typelist_detail::primitive_of<B>()) && ...);
}

// The lists one after another.
template <class... Lists>
using Concat = typename typelist_detail::Concat<Lists...>::type;

// Every algorithm of Algs over every base of Bases (base-major), leaving out the pairs whose template-id is
// ill-formed (the base lacks what the algorithm's concept asks for).
template <class Algs, class Bases>
using Compose = typename typelist_detail::Compose<Algs, Bases>::type;

// The members of L whose kPrimitive is P.
template <PrimitiveName P, class L>
using Only = typename typelist_detail::Only<P, L>::type;

}  // namespace jostle
