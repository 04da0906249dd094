#include "finlake/analytics/sql_functions.h"

#include <array>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "finlake/analytics/indicators.h"
#include "finlake/core/limits.h"
#include "finlake/core/strings.h"

namespace finlake::analytics {
namespace {

constexpr size_t kSeriesMax = 3;      // ta_atr: high, low, close.
constexpr size_t kParametersMax = 3;  // ta_macd: fast, slow, signal.
constexpr size_t kOutputsMax = 3;     // ta_macd, ta_bbands: three fields.

enum class ParameterType { kInteger, kDouble };

struct Parameter {
  const char* name;
  ParameterType type;
  double default_value;  // Used by the overloads that leave the parameter out.
};

// What one call of a kernel sees: the row's series, its parameters (integers held
// exactly as doubles) and the output spans, all of one length.
struct KernelArguments {
  std::array<std::span<const double>, kSeriesMax> series;
  std::array<double, kParametersMax> parameters{};
  std::array<std::span<double>, kOutputsMax> outputs;

  int32_t Integer(size_t index) const { return static_cast<int32_t>(parameters[index]); }
};

using Kernel = Status (*)(const KernelArguments& arguments);

struct IndicatorSpec {
  const char* sql_name;
  // The name the kernel puts in front of its error messages; it is replaced by
  // sql_name so that a SQL user reads the function they called.
  const char* kernel_name;
  size_t series_count;
  std::vector<Parameter> parameters;
  // Overloads exist for required_parameters .. parameters.size() parameters.
  size_t required_parameters;
  // One name: the result is DOUBLE[]. Several: a list of STRUCT with these fields.
  std::vector<const char*> output_names;
  Kernel kernel;
};

const std::vector<IndicatorSpec>& Specs() {
  using enum ParameterType;
  static const std::vector<IndicatorSpec> specs = {
      {"ta_sma", "Sma", 1, {{"period", kInteger, 0}}, 1, {"value"},
       [](const KernelArguments& a) { return Sma(a.series[0], a.Integer(0), a.outputs[0]); }},
      {"ta_ema", "Ema", 1, {{"period", kInteger, 0}}, 1, {"value"},
       [](const KernelArguments& a) { return Ema(a.series[0], a.Integer(0), a.outputs[0]); }},
      {"ta_rsi", "Rsi", 1, {{"period", kInteger, 0}}, 1, {"value"},
       [](const KernelArguments& a) { return Rsi(a.series[0], a.Integer(0), a.outputs[0]); }},
      {"ta_returns", "SimpleReturns", 1, {}, 0, {"value"},
       [](const KernelArguments& a) { return SimpleReturns(a.series[0], a.outputs[0]); }},
      {"ta_log_returns", "LogReturns", 1, {}, 0, {"value"},
       [](const KernelArguments& a) { return LogReturns(a.series[0], a.outputs[0]); }},
      {"ta_volatility", "RollingVolatility", 1, {{"period", kInteger, 0}, {"periods_per_year", kDouble, 252.0}}, 1,
       {"value"},
       [](const KernelArguments& a) {
         return RollingVolatility(a.series[0], a.Integer(0), a.outputs[0], a.parameters[1]);
       }},
      {"ta_macd", "Macd", 1,
       {{"fast_period", kInteger, 12}, {"slow_period", kInteger, 26}, {"signal_period", kInteger, 9}}, 0,
       {"macd", "signal", "hist"},
       [](const KernelArguments& a) {
         MacdOptions options{.fast_period = a.Integer(0), .slow_period = a.Integer(1), .signal_period = a.Integer(2)};
         return Macd(a.series[0], options, a.outputs[0], a.outputs[1], a.outputs[2]);
       }},
      {"ta_bbands", "BollingerBands", 1, {{"period", kInteger, 20}, {"deviations", kDouble, 2.0}}, 1,
       {"upper", "middle", "lower"},
       [](const KernelArguments& a) {
         BollingerOptions options{
             .period = a.Integer(0), .deviations_up = a.parameters[1], .deviations_down = a.parameters[1]};
         return BollingerBands(a.series[0], options, a.outputs[0], a.outputs[1], a.outputs[2]);
       }},
      {"ta_atr", "Atr", 3, {{"period", kInteger, 0}}, 1, {"value"},
       [](const KernelArguments& a) {
         return Atr(a.series[0], a.series[1], a.series[2], a.Integer(0), a.outputs[0]);
       }},
      {"ta_obv", "Obv", 2, {}, 0, {"value"},
       [](const KernelArguments& a) { return Obv(a.series[0], a.series[1], a.outputs[0]); }},
      {"ta_volume_z", "VolumeZScore", 1, {{"period", kInteger, 0}}, 1, {"value"},
       [](const KernelArguments& a) { return VolumeZScore(a.series[0], a.Integer(0), a.outputs[0]); }},
  };
  return specs;
}

// A LIST(DOUBLE) input column of a flattened chunk.
struct ListColumn {
  const duckdb_list_entry* entries = nullptr;
  uint64_t* validity = nullptr;
  const double* values = nullptr;
  uint64_t* values_validity = nullptr;

  explicit ListColumn(duckdb_vector vector) {
    entries = static_cast<const duckdb_list_entry*>(duckdb_vector_get_data(vector));
    validity = duckdb_vector_get_validity(vector);
    duckdb_vector child = duckdb_list_vector_get_child(vector);
    values = static_cast<const double*>(duckdb_vector_get_data(child));
    values_validity = duckdb_vector_get_validity(child);
  }
  bool IsNull(idx_t row) const { return validity != nullptr && !duckdb_validity_row_is_valid(validity, row); }
};

// A parameter column: INTEGER or DOUBLE, as the overload declares it.
struct ParameterColumn {
  ParameterType type = ParameterType::kInteger;
  const void* data = nullptr;
  uint64_t* validity = nullptr;

  bool IsNull(idx_t row) const { return validity != nullptr && !duckdb_validity_row_is_valid(validity, row); }
  double Value(idx_t row) const {
    return type == ParameterType::kInteger ? static_cast<const int32_t*>(data)[row]
                                           : static_cast<const double*>(data)[row];
  }
};

std::string SqlMessage(const IndicatorSpec& spec, const Status& status) {
  std::string message = status.message();
  std::string prefix = std::string(spec.kernel_name) + ":";
  if (message.rfind(prefix, 0) == 0) return spec.sql_name + message.substr(std::string(spec.kernel_name).size());
  return std::string(spec.sql_name) + ": " + message;
}

Status CheckParameters(const IndicatorSpec& spec, const KernelArguments& arguments) {
  for (size_t p = 0; p < spec.parameters.size(); ++p) {
    const Parameter& parameter = spec.parameters[p];
    if (parameter.type == ParameterType::kInteger && arguments.parameters[p] > limits::kIndicatorSqlPeriodMax) {
      return Status::InvalidArgument(std::string(spec.sql_name) + ": " + parameter.name + " " +
                                     std::to_string(arguments.Integer(p)) + " is above the maximum " +
                                     std::to_string(limits::kIndicatorSqlPeriodMax));
    }
  }
  return Status::Ok();
}

// Computes one output chunk. The result list vector is fresh (empty child) for
// every call of a scalar function, so the rows' outputs are laid out from 0.
Status ExecuteChunk(const IndicatorSpec& spec, duckdb_data_chunk input, duckdb_vector result) {
  const idx_t rows = duckdb_data_chunk_get_size(input);
  const idx_t columns = duckdb_data_chunk_get_column_count(input);
  const size_t parameter_count = columns - spec.series_count;
  assert(columns >= spec.series_count && parameter_count <= spec.parameters.size());

  std::vector<ListColumn> series;
  for (size_t s = 0; s < spec.series_count; ++s) series.emplace_back(duckdb_data_chunk_get_vector(input, s));
  std::vector<ParameterColumn> parameters(parameter_count);
  for (size_t p = 0; p < parameter_count; ++p) {
    duckdb_vector vector = duckdb_data_chunk_get_vector(input, spec.series_count + p);
    parameters[p] = {spec.parameters[p].type, duckdb_vector_get_data(vector), duckdb_vector_get_validity(vector)};
  }
  auto row_is_null = [&](idx_t row) {
    for (const ListColumn& column : series) {
      if (column.IsNull(row)) return true;
    }
    for (const ParameterColumn& column : parameters) {
      if (column.IsNull(row)) return true;
    }
    return false;
  };

  // First pass: the series lengths agree, and the total output length.
  idx_t total = 0;
  for (idx_t row = 0; row < rows; ++row) {
    if (row_is_null(row)) continue;
    const idx_t length = series[0].entries[row].length;
    for (size_t s = 1; s < series.size(); ++s) {
      if (series[s].entries[row].length != length) {
        return Status::InvalidArgument(std::string(spec.sql_name) + ": list " + std::to_string(s + 1) + " has " +
                                       std::to_string(series[s].entries[row].length) + " elements, list 1 has " +
                                       std::to_string(length) + "; all lists must have the same length");
      }
    }
    total += length;
  }
  if (duckdb_list_vector_reserve(result, total) != DuckDBSuccess) {
    return Status::Internal(std::string(spec.sql_name) + ": cannot reserve " + std::to_string(total) +
                            " list elements");
  }

  // Output vectors: the list's child itself, or the fields of its STRUCT child.
  // Their data and validity are read after the reserve, which may move them.
  duckdb_vector child = duckdb_list_vector_get_child(result);
  const size_t output_count = spec.output_names.size();
  std::array<double*, kOutputsMax> output_data{};
  std::array<uint64_t*, kOutputsMax> output_validity{};
  for (size_t k = 0; k < output_count; ++k) {
    duckdb_vector output = output_count == 1 ? child : duckdb_struct_vector_get_child(child, k);
    duckdb_vector_ensure_validity_writable(output);
    output_data[k] = static_cast<double*>(duckdb_vector_get_data(output));
    output_validity[k] = duckdb_vector_get_validity(output);
  }
  auto* result_entries = static_cast<duckdb_list_entry*>(duckdb_vector_get_data(result));

  std::vector<double> scratch;
  idx_t offset = 0;
  for (idx_t row = 0; row < rows; ++row) {
    if (row_is_null(row)) {
      duckdb_vector_ensure_validity_writable(result);
      duckdb_validity_set_row_invalid(duckdb_vector_get_validity(result), row);
      result_entries[row] = {offset, 0};
      continue;
    }
    const idx_t length = series[0].entries[row].length;
    KernelArguments arguments;
    scratch.resize(spec.series_count * length);
    for (size_t s = 0; s < spec.series_count; ++s) {
      const ListColumn& column = series[s];
      const idx_t begin = column.entries[row].offset;
      double* values = scratch.data() + s * length;
      for (idx_t i = 0; i < length; ++i) {
        const bool valid =
            column.values_validity == nullptr || duckdb_validity_row_is_valid(column.values_validity, begin + i);
        values[i] = valid ? column.values[begin + i] : std::numeric_limits<double>::quiet_NaN();
      }
      arguments.series[s] = std::span<const double>(values, length);
    }
    for (size_t p = 0; p < spec.parameters.size(); ++p) {
      arguments.parameters[p] = p < parameter_count ? parameters[p].Value(row) : spec.parameters[p].default_value;
    }
    for (size_t k = 0; k < output_count; ++k) arguments.outputs[k] = std::span<double>(output_data[k] + offset, length);

    RETURN_IF_ERROR(CheckParameters(spec, arguments));
    if (Status status = spec.kernel(arguments); !status.ok()) {
      return Status::InvalidArgument(SqlMessage(spec, status));
    }
    for (size_t k = 0; k < output_count; ++k) {
      for (idx_t i = 0; i < length; ++i) {
        if (std::isnan(output_data[k][offset + i])) duckdb_validity_set_row_invalid(output_validity[k], offset + i);
      }
    }
    result_entries[row] = {offset, length};
    offset += length;
  }
  assert(offset == total);
  if (duckdb_list_vector_set_size(result, total) != DuckDBSuccess) {
    return Status::Internal(std::string(spec.sql_name) + ": cannot set the result list size");
  }
  return Status::Ok();
}

void Execute(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector result) {
  const auto& spec = *static_cast<const IndicatorSpec*>(duckdb_scalar_function_get_extra_info(info));
  Status status;
  // DuckDB calls this from C: an exception (bad_alloc on a huge list) must not
  // cross back through the C API boundary.
  try {
    status = ExecuteChunk(spec, input, result);
  } catch (const std::exception& error) {
    status = Status::Internal(std::string(spec.sql_name) + ": " + error.what());
  }
  if (!status.ok()) duckdb_scalar_function_set_error(info, status.message().c_str());
}

// Owns the logical types created while registering, so that every early return
// destroys them.
class TypeOwner {
 public:
  ~TypeOwner() {
    for (duckdb_logical_type& type : types_) duckdb_destroy_logical_type(&type);
  }
  duckdb_logical_type Keep(duckdb_logical_type type) {
    types_.push_back(type);
    return type;
  }

 private:
  std::vector<duckdb_logical_type> types_;
};

Status Register(duckdb_connection connection, const IndicatorSpec& spec) {
  TypeOwner types;
  duckdb_logical_type double_type = types.Keep(duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE));
  duckdb_logical_type integer_type = types.Keep(duckdb_create_logical_type(DUCKDB_TYPE_INTEGER));
  duckdb_logical_type series_type = types.Keep(duckdb_create_list_type(double_type));
  duckdb_logical_type return_type = series_type;
  if (spec.output_names.size() > 1) {
    std::vector<duckdb_logical_type> field_types(spec.output_names.size(), double_type);
    duckdb_logical_type element = types.Keep(duckdb_create_struct_type(
        field_types.data(), const_cast<const char**>(spec.output_names.data()), spec.output_names.size()));
    return_type = types.Keep(duckdb_create_list_type(element));
  }

  duckdb_scalar_function_set set = duckdb_create_scalar_function_set(spec.sql_name);
  Status status;
  for (size_t count = spec.required_parameters; count <= spec.parameters.size() && status.ok(); ++count) {
    duckdb_scalar_function function = duckdb_create_scalar_function();
    duckdb_scalar_function_set_name(function, spec.sql_name);
    for (size_t s = 0; s < spec.series_count; ++s) duckdb_scalar_function_add_parameter(function, series_type);
    for (size_t p = 0; p < count; ++p) {
      duckdb_scalar_function_add_parameter(
          function, spec.parameters[p].type == ParameterType::kInteger ? integer_type : double_type);
    }
    duckdb_scalar_function_set_return_type(function, return_type);
    duckdb_scalar_function_set_function(function, Execute);
    // The spec is a static that outlives every database: no destroy callback.
    duckdb_scalar_function_set_extra_info(function, const_cast<IndicatorSpec*>(&spec), nullptr);
    if (duckdb_add_scalar_function_to_set(set, function) != DuckDBSuccess) {
      status = Status::Internal(std::string("cannot add an overload of ") + spec.sql_name);
    }
    duckdb_destroy_scalar_function(&function);
  }
  if (status.ok() && duckdb_register_scalar_function_set(connection, set) != DuckDBSuccess) {
    status = Status::Internal(std::string("cannot register SQL function ") + spec.sql_name +
                              " (registered twice on one database?)");
  }
  duckdb_destroy_scalar_function_set(&set);
  return status;
}

// The aggregate form of one spec: a macro <sql_name>_agg(series..., order_key,
// parameters...) with an overload per parameter count, that hands the list
// function the series collected by DuckDB's own list() in order_key order, e.g.
//   ta_ema_agg(x, t, period) -> ta_ema(list(x ORDER BY t), period)
// Several series go through one list of structs, so that rows with equal keys
// keep their series aligned (DuckDB computes the repeated aggregate once). A
// macro, not a C API aggregate: DuckDB 1.4.4 hands a C API aggregate's update a
// one-element state vector under ORDER BY and in constant-frame windows
// (duckdb/duckdb#21537); a macro can use neither (DuckDB refuses "ORDER BY" on a
// macro call and a macro in OVER with a binder error).
std::string AggregateMacroSql(const IndicatorSpec& spec) {
  static const char* const kSeriesNames[kSeriesMax] = {"s1", "s2", "s3"};
  std::vector<std::string> series(kSeriesNames, kSeriesNames + spec.series_count);
  std::string collected;
  std::vector<std::string> lists;
  if (spec.series_count == 1) {
    lists.push_back("list(s1 ORDER BY order_key)");
  } else {
    std::vector<std::string> fields;
    for (const std::string& name : series) fields.push_back(name + " := " + name);
    collected = "list(struct_pack(" + Join(fields, ", ") + ") ORDER BY order_key)";
    for (const std::string& name : series) lists.push_back("[e." + name + " FOR e IN " + collected + "]");
  }
  std::vector<std::string> overloads;
  for (size_t count = spec.required_parameters; count <= spec.parameters.size(); ++count) {
    std::vector<std::string> arguments = series;
    arguments.push_back("order_key");
    std::vector<std::string> call = lists;
    for (size_t p = 0; p < count; ++p) {
      arguments.push_back(spec.parameters[p].name);
      call.push_back(spec.parameters[p].name);
    }
    overloads.push_back("(" + Join(arguments, ", ") + ") AS " + spec.sql_name + "(" + Join(call, ", ") + ")");
  }
  return "CREATE MACRO " + std::string(spec.sql_name) + "_agg" + Join(overloads, ", ");
}

}  // namespace

Status RegisterIndicatorFunctions(duckdb_connection connection) {
  for (const IndicatorSpec& spec : Specs()) {
    assert(spec.series_count >= 1 && spec.series_count <= kSeriesMax);
    assert(spec.parameters.size() <= kParametersMax && spec.required_parameters <= spec.parameters.size());
    assert(!spec.output_names.empty() && spec.output_names.size() <= kOutputsMax);
    RETURN_IF_ERROR(Register(connection, spec));
  }
  for (const IndicatorSpec& spec : Specs()) {
    duckdb_result result;
    const std::string sql = AggregateMacroSql(spec);
    const bool failed = duckdb_query(connection, sql.c_str(), &result) == DuckDBError;
    const std::string error = failed ? duckdb_result_error(&result) : "";
    duckdb_destroy_result(&result);
    if (failed) return Status::Internal("cannot create " + std::string(spec.sql_name) + "_agg: " + error);
  }
  return Status::Ok();
}

}  // namespace finlake::analytics
